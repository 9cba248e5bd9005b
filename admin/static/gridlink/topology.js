/* The topology check: each problem drawn in red over the grids; a click on a row
 * of the report goes to it. */
(function ($) {
  'use strict';

  var problems = GridlinkMap.readJSON('gridlink-topology-data');
  var $map = $('#gridlink-topology-map');
  var map = GridlinkMap.withVillages($map.get(0));
  var layers = {};
  var layer = L.geoJSON(problems, {
    style: {color: '#c92a2a', weight: 2, fillColor: '#fa5252', fillOpacity: 0.5},
    onEachFeature: function (f, l) { layers[f.id] = l; }
  }).addTo(map);
  if (problems.features.length) {
    map.fitBounds(layer.getBounds().pad(0.2));
  } else {
    // Nothing wrong: the area checked, outlined, rather than an empty box.
    $.getJSON($map.data('shapes-url'), {level: 'county', bbox: GridlinkMap.cityBox}).done(function (fc) {
      var outline = L.geoJSON(fc, {style: {color: '#2b8a3e', weight: 2, fillColor: '#8ce99a', fillOpacity: 0.15},
                                   interactive: false}).addTo(map);
      if (fc.features.length) { map.fitBounds(outline.getBounds()); }
      $map.attr('data-outline', fc.features.length);
    });
  }
  $('#gridlink-problems tbody tr').on('click', function () {
    var id = $(this).data('feature');
    if (layers[id]) { map.fitBounds(layers[id].getBounds().pad(1.5)); }
    else { map.setView([$(this).data('lat'), $(this).data('lon')], 16); }
    $(this).addClass('table-active').siblings().removeClass('table-active');
  });
  $map.attr('data-problems', problems.features.length).data('map', map);
})(jQuery);
