/* A boundary file before it is written: its shapes over the current villages,
 * green written, orange repaired, grey unchanged, red rejected or a topology
 * problem. Each shape is labelled with the code and name the file gives it. */
(function ($) {
  'use strict';

  var COLOURS = {ok: '#2b8a3e', repaired: '#e67700', unchanged: '#868e96', rejected: '#c92a2a',
                 problem: '#c92a2a'};
  var shapes = GridlinkMap.readJSON('gridlink-import-shapes');
  var $map = $('#gridlink-import-map');
  var map = GridlinkMap.withVillages($map.get(0));
  var layer = L.geoJSON(shapes, {
    style: function (f) {
      var c = COLOURS[f.properties.status];
      return {color: c, fillColor: c, weight: 2, fillOpacity: f.properties.status === 'problem' ? 0.6 : 0.2};
    },
    onEachFeature: function (f, l) { GridlinkMap.tooltip(l, f.properties.label); }
  }).addTo(map);
  if (shapes.features.length) { map.fitBounds(layer.getBounds().pad(0.1)); }
  $map.attr('data-features', shapes.features.length).data('map', map);
})(jQuery);
