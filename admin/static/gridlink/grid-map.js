/* gridlink maps: Leaflet with the configured base map (256-pixel tiles, or none),
 * the boundary editor used on grid forms, and the dashboard overview.
 * Everything here is served by the app; nothing is fetched from the internet. */
(function ($) {
  'use strict';

  var NEIGHBOUR_STYLE = {color: '#555', weight: 1, dashArray: '4 3', fillColor: '#999', fillOpacity: 0.12};
  var EDIT_STYLE = {color: '#d9480f', weight: 3, fillOpacity: 0.25};
  var CITY_CENTER = [22.92, 111.8];
  var CITY_BOX = '110.5,21.8,113,23.8';  // west,south,east,north around the served area
  var FEW_NAMED = 40;  // an overview of this many grids or fewer names each on the map

  // Data the page hands to its script, in a <script type="application/json"> block.
  function readJSON(id) {
    var el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  /* Names on the maps come from people and from files: a grid's name typed by an
   * administrator, an address sent by a court system, a boundary file's <name>.
   * Leaflet treats a string tooltip, popup or divIcon as HTML, so every label of
   * every map is made here, as an element holding the name as text. */
  function textLabel(value, attributes) {
    var el = document.createElement('span');
    el.textContent = value === null || value === undefined ? '' : String(value);
    Object.keys(attributes || {}).forEach(function (name) { el.setAttribute(name, attributes[name]); });
    return el;
  }

  // Several lines of text, the first bold: a tooltip or popup of names and figures.
  function textLines(rows) {
    var box = document.createElement('div');
    rows.forEach(function (row, i) {
      box.appendChild(textLabel(row, i === 0 ? {'class': 'font-weight-bold'} : {}));
      box.appendChild(document.createElement('br'));
    });
    return box;
  }

  // The same text as HTML, for the one place Leaflet takes nothing else (attributions).
  function textAsHTML(value) { return textLabel(value).innerHTML; }

  function tooltip(layer, value, options) {
    return layer.bindTooltip(textLabel(value), options);
  }

  // A marker that is a text label (Leaflet 1.3's divIcon takes only HTML).
  var TextIcon = L.DivIcon.extend({
    options: {html: false, text: '', attributes: {}},
    createIcon: function (oldIcon) {
      var div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      div.appendChild(textLabel(this.options.text, this.options.attributes));
      return div;
    }
  });

  function textIcon(options) { return new TextIcon(options); }

  function addBasemap(map) {
    (readJSON('gridlink-basemap') || []).forEach(function (layer) {
      L.tileLayer(layer.url, {
        subdomains: layer.subdomains || 'abc',
        tileSize: layer.tileSize || 256,   // no zoomOffset: these are 256-pixel schemes
        maxZoom: layer.maxZoom || 18,
        attribution: textAsHTML(layer.attribution)  // GRIDLINK_TILE_ATTRIBUTION is text
      }).addTo(map);
    });
  }

  // Leaflet's and Leaflet.draw's own words, in the page's language (admin/maps.py).
  var texts = readJSON('gridlink-map-texts');
  if (texts) {
    $.extend(L.Control.Zoom.prototype.options, {zoomInTitle: texts.zoomIn, zoomOutTitle: texts.zoomOut});
    if (L.drawLocal) { $.extend(true, L.drawLocal, texts.draw); }
  }

  function newMap(el, options) {
    var map = L.map(el, $.extend({center: CITY_CENTER, zoom: 9, zoomSnap: 0.25}, options || {}));
    if (map.attributionControl) { map.attributionControl.setPrefix(''); }  // no English link
    addBasemap(map);
    return map;
  }

  function boxParam(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()]
      .map(function (v) { return v.toFixed(5); }).join(',');
  }

  // [[lon,lat]...] rings of a Polygon or each Polygon of a MultiPolygon, as polygon coordinate lists.
  function polygonsOf(geometry) {
    if (!geometry) { return []; }
    if (geometry.type === 'Polygon') { return [geometry.coordinates]; }
    if (geometry.type === 'MultiPolygon') { return geometry.coordinates; }
    if (geometry.type === 'Feature') { return polygonsOf(geometry.geometry); }
    if (geometry.type === 'FeatureCollection') {
      return geometry.features.reduce(function (acc, f) { return acc.concat(polygonsOf(f.geometry)); }, []);
    }
    return [];
  }

  function loadShapes(url, map, layer, level, skipId) {
    var bounds = map.getBounds().pad(0.3);
    return $.getJSON(url, {level: level, bbox: boxParam(bounds)}).done(function (fc) {
      layer.clearLayers();
      fc.features.forEach(function (f) {
        if (skipId && f.id === skipId) { return; }
        var shape = L.geoJSON(f, {style: NEIGHBOUR_STYLE, interactive: false});
        tooltip(shape, f.properties.name, {permanent: true, direction: 'center', className: 'gridlink-label'});
        layer.addLayer(shape);
      });
    });
  }

  function initEditor(textarea) {
    var $el = $(textarea);
    var $map = $('<div class="gridlink-map gridlink-editor"></div>');
    $el.after($map).hide();
    var map = newMap($map.get(0));
    var neighbours = L.featureGroup().addTo(map);
    var editable = L.featureGroup().addTo(map);
    var gridId = new URLSearchParams(window.location.search).get('id');
    var $level = $el.closest('form').find('[name=level]');
    var isPoint = String($el.data('geometry-type')).toUpperCase() === 'POINT';

    if ($el.val()) {
      try {
        var value = JSON.parse($el.val());
        if (isPoint) {
          editable.addLayer(L.marker([value.coordinates[1], value.coordinates[0]]));
        }
        polygonsOf(value).forEach(function (rings) {
          editable.addLayer(L.polygon(L.GeoJSON.coordsToLatLngs(rings, 1), EDIT_STYLE));
        });
      } catch (e) {
        $map.before($('<div class="alert alert-warning"></div>').text(e.message));
      }
    }
    if (isPoint && editable.getLayers().length) {
      map.setView(editable.getLayers()[0].getLatLng(), 15);
    } else if (editable.getLayers().length) {
      map.fitBounds(editable.getBounds().pad(0.4));
    }

    var save = function () {
      if (isPoint) {
        var last = editable.getLayers().slice(-1)[0];
        $el.val(last ? JSON.stringify({type: 'Point', coordinates: [last.getLatLng().lng, last.getLatLng().lat]}) : '');
        return;
      }
      var coords = [];
      editable.eachLayer(function (layer) { coords = coords.concat(polygonsOf(layer.toGeoJSON().geometry)); });
      $el.val(coords.length ? JSON.stringify({type: 'MultiPolygon', coordinates: coords}) : '');
    };
    map.addControl(new L.Control.Draw({
      draw: isPoint
        ? {polygon: false, rectangle: false, polyline: false, marker: true, circle: false, circlemarker: false}
        : {polygon: {shapeOptions: EDIT_STYLE}, rectangle: {shapeOptions: EDIT_STYLE},
           polyline: false, marker: false, circle: false, circlemarker: false},
      edit: {featureGroup: editable}
    }));
    map.on('draw:created', function (e) {
      if (isPoint) { editable.clearLayers(); }
      editable.addLayer(e.layer);
      save();
    });
    map.on('draw:edited draw:deleted', save);

    var level = function () { return $level.val() || 'village'; };
    var refresh = function () { loadShapes($el.data('shapes-url'), map, neighbours, level(), gridId); };
    var timer = null;
    map.on('moveend', function () { clearTimeout(timer); timer = setTimeout(refresh, 250); });
    $level.on('change', refresh);
    refresh();
    $map.data('map', map);
  }

  // A map with the villages outlined around whatever it shows, for orientation (towns,
  // when it shows more than a few towns' worth: a county of villages is noise, and heavy).
  var VILLAGES_FROM_ZOOM = 11;

  function withVillages(el) {
    var map = newMap(el);
    var villages = L.featureGroup().addTo(map);
    map.on('moveend', function () {
      var level = map.getZoom() >= VILLAGES_FROM_ZOOM ? 'village' : 'town';
      loadShapes($(el).data('shapes-url'), map, villages, level, null);
    });
    return map;
  }

  function initOverview(el) {
    var $el = $(el);
    var map = newMap(el);
    var counties = {};
    var palette = ['#1c7ed6', '#37b24d', '#f59f00', '#ae3ec9', '#e8590c'];
    $.getJSON($el.data('shapes-url'), {level: $el.data('level') || 'town', bbox: CITY_BOX})
      .done(function (fc) {
        var layer = L.geoJSON(fc, {
          style: function (f) {
            var county = f.properties.code.slice(0, 6);
            if (!(county in counties)) { counties[county] = palette[Object.keys(counties).length % palette.length]; }
            return {color: '#fff', weight: 1, fillColor: counties[county], fillOpacity: 0.55};
          },
          onEachFeature: function (f, l) {
            // A few grids (a town's villages, one village) are named on the map; many, on hover.
            if (fc.features.length <= FEW_NAMED) {
              tooltip(l, f.properties.name, {permanent: true, direction: 'center', className: 'gridlink-label'});
            } else {
              tooltip(l, f.properties.name + ' ' + f.properties.code);
            }
          }
        }).addTo(map);
        if (fc.features.length) { map.fitBounds(layer.getBounds()); }
        $el.attr('data-loaded', fc.features.length);
      });
    $el.data('map', map);
  }

  window.GridlinkMap = {cityBox: CITY_BOX, newMap: newMap, boxParam: boxParam, addBasemap: addBasemap, polygonsOf: polygonsOf,
                        loadShapes: loadShapes, withVillages: withVillages, readJSON: readJSON,
                        textLabel: textLabel, textLines: textLines, tooltip: tooltip, textIcon: textIcon};
  $(function () {
    $('[data-role=gridlink-map]').each(function () { initEditor(this); });
    $('[data-role=gridlink-overview]').each(function () { initOverview(this); });
  });
})(jQuery);
