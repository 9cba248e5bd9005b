/* The light phone pages: the map, and the ~150 KB of its library, only when asked for. */
(function () {
  'use strict';
  var button = document.getElementById('gridlink-show-map');
  if (!button) { return; }

  function load(tag, attributes) {
    return new Promise(function (resolve, reject) {
      var el = document.createElement(tag);
      Object.keys(attributes).forEach(function (name) { el[name] = attributes[name]; });
      el.onload = resolve;
      el.onerror = reject;
      document.head.appendChild(el);
    });
  }

  button.addEventListener('click', function () {
    var urls = button.dataset;
    button.disabled = true;
    load('link', {rel: 'stylesheet', href: urls.leafletCss});
    (window.jQuery ? Promise.resolve() : load('script', {src: urls.jquery}))
      .then(function () { return load('script', {src: urls.leaflet}); })
      .then(function () {
        document.querySelectorAll('[data-role=gridlink-overview]').forEach(function (el) { el.hidden = false; });
        button.hidden = true;
        return load('script', {src: urls.gridMap});
      })
      .catch(function () { button.disabled = false; });
  });
})();
