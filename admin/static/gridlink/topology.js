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
  if (problems.features.length) { map.fitBounds(layer.getBounds().pad(0.2)); }
  $('#gridlink-problems tbody tr').on('click', function () {
    var id = $(this).data('feature');
    if (layers[id]) { map.fitBounds(layers[id].getBounds().pad(1.5)); }
    else { map.setView([$(this).data('lat'), $(this).data('lon')], 16); }
    $(this).addClass('table-active').siblings().removeClass('table-active');
  });
  $map.attr('data-problems', problems.features.length).data('map', map);
})(jQuery);
