/* The committee's maps (admin/views/committee_maps.py): open matters, clustered by
 * area when zoomed out, and completion density with overdue hot spots.
 * The page embeds no polygon: each move asks for the outlines of the box shown, at
 * its zoom's detail, and for that box's counts; both come back scoped and cached. */
(function ($) {
  'use strict';

  var GM = window.GridlinkMap;
  var texts = GM.readJSON('gridlink-committee-texts') || {};
  var STATE_COLOURS = {
    assigned: '#1c7ed6', accepted: '#0ca678', dispatched: '#7048e8', escalated: '#f76707',
    returned: '#868e96', 'new': '#adb5bd', review: '#adb5bd', manual: '#adb5bd'
  };
  var OVERDUE = '#e03131';
  // Completion rate classes, from little done (red) to most done (green).
  var RATE_CLASSES = [
    {upTo: 0.2, colour: '#d7301f'}, {upTo: 0.4, colour: '#fc8d59'}, {upTo: 0.6, colour: '#fdcc8a'},
    {upTo: 0.8, colour: '#a1d99b'}, {upTo: 1.01, colour: '#31a354'}
  ];
  var NO_DATA = '#dee2e6';
  var OUTLINE = {color: '#495057', weight: 1, fillColor: '#ffffff', fillOpacity: 0.35};

  function defaultLevel(zoom) { return zoom < 9 ? 'county' : zoom < 11 ? 'town' : 'village'; }

  function filters() {
    var out = {};
    $('#gridlink-map-filters').serializeArray().forEach(function (f) { if (f.value) { out[f.name] = f.value; } });
    return out;
  }

  function percent(rate) { return rate === null || rate === undefined ? '—' : Math.round(rate * 100) + '%'; }

  function rateColour(rate) {
    if (rate === null || rate === undefined) { return NO_DATA; }
    for (var i = 0; i < RATE_CLASSES.length; i++) { if (rate < RATE_CLASSES[i].upTo) { return RATE_CLASSES[i].colour; } }
    return RATE_CLASSES[RATE_CLASSES.length - 1].colour;
  }

  function legend(map, entries) {
    var control = L.control({position: 'bottomright'});
    control.onAdd = function () {
      var div = L.DomUtil.create('div', 'gridlink-legend');
      entries.forEach(function (e) {
        var row = L.DomUtil.create('div', '', div);
        var swatch = L.DomUtil.create('span', 'gridlink-swatch' + (e.round ? ' gridlink-swatch-round' : ''), row);
        swatch.style.background = e.colour;
        row.appendChild(GM.textLabel(e.text));
      });
      return div;
    };
    control.addTo(map);
  }

  function clusterIcon(area) {
    var dominant = Object.keys(area.states).sort(function (a, b) { return area.states[b] - area.states[a]; })[0];
    var size = Math.round(26 + 8 * Math.log10(1 + area.total));
    var el = document.createElement('div');
    el.className = 'gridlink-cluster';
    el.style.background = STATE_COLOURS[dominant] || '#1c7ed6';
    el.style.width = el.style.height = el.style.lineHeight = size + 'px';
    el.appendChild(GM.textLabel(area.total));
    if (area.overdue) {
      el.appendChild(GM.textLabel(area.overdue, {'class': 'gridlink-cluster-overdue'}));
    }
    return new ElementIcon({element: el, className: '', iconSize: [size, size]});
  }

  // A marker drawn by an element made here (Leaflet 1.3's divIcon takes only HTML).
  var ElementIcon = L.DivIcon.extend({
    options: {html: false, element: null},
    createIcon: function (oldIcon) {
      var div = L.DivIcon.prototype.createIcon.call(this, oldIcon);
      div.appendChild(this.options.element);
      return div;
    }
  });

  function stateRows(states) {
    return Object.keys(states).map(function (s) { return (texts.states[s] || s) + ': ' + states[s]; });
  }

  function init(el) {
    var $el = $(el);
    var mode = $el.data('mode');
    var map = GM.newMap(el, {minZoom: 5});
    var bounds = $el.data('bounds');
    // At once, not animated: the first counts and outlines asked are those of the
    // scope's own view, not of the default one the map opened on.
    if (bounds) { map.fitBounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]], {animate: false}); }
    // Outlines lie in a pane under the counts and the matters' dots, whichever of
    // them comes back first.
    map.createPane('gridlink-outlines').style.zIndex = 350;
    var outlines = L.featureGroup().addTo(map);
    var marks = L.featureGroup().addTo(map);
    var hotspots = L.featureGroup();
    var chosen = L.featureGroup().addTo(map);
    var asked = 0;

    if (mode === 'density') {
      hotspots.addTo(map);
      var overlays = {};
      overlays[texts.hotspots] = hotspots;
      L.control.layers(null, overlays, {collapsed: false}).addTo(map);
      legend(map, RATE_CLASSES.map(function (c, i) {
        return {colour: c.colour, text: texts.rate + ' ' + (i * 20) + '–' + Math.min(100, (i + 1) * 20) + '%'};
      }).concat([{colour: NO_DATA, text: texts.no_data}, {colour: OVERDUE, text: texts.hotspots, round: true}]));
    } else {
      legend(map, ['assigned', 'accepted', 'dispatched', 'escalated', 'returned'].map(function (s) {
        return {colour: STATE_COLOURS[s], text: texts.states[s], round: true};
      }).concat([{colour: OVERDUE, text: texts.overdue, round: true}]));
    }

    function showMatter(id, latlng) {
      $.getJSON($el.data('matter-url').replace('MATTER', id)).done(function (m) {
        var rows = [texts['case'] + ': ' + m.case_number, texts.court + ': ' + m.court,
                    texts.type + ': ' + m.type, texts.state + ': ' + m.state,
                    texts.due + ': ' + (m.due || '—')];
        if (m.days_overdue) { rows.push(texts.days_overdue + ': ' + m.days_overdue); }
        rows.push(texts.escalation + ': ' + m.escalation, texts.grid + ': ' + (m.grid || '—'));
        if (m.debtor) { rows.push(texts.debtor + ': ' + m.debtor); }
        chosen.clearLayers();
        if (m.outline) { chosen.addLayer(L.geoJSON(m.outline, {style: {color: '#f76707', weight: 3, fillOpacity: 0.08}, interactive: false})); }
        L.popup().setLatLng(latlng).setContent(GM.textLines(rows)).openOn(map);
        $el.attr('data-matter', m.case_number);
      });
    }

    function drawOpen(data) {
      marks.clearLayers();
      if (data.areas) {
        data.areas.forEach(function (a) {
          var marker = L.marker([a.lat, a.lon], {icon: clusterIcon(a)});
          var rows = [a.name, texts.open + ': ' + a.total, texts.overdue + ': ' + a.overdue];
          marker.bindTooltip(GM.textLines(rows.concat(stateRows(a.states))));  // names as text
          marker.on('click', function () { map.setView([a.lat, a.lon], Math.min(map.getZoom() + 2, 16)); });
          marks.addLayer(marker);
        });
        $el.attr('data-areas', data.areas.length);
        $el.attr('data-open', data.areas.reduce(function (n, a) { return n + a.total; }, 0));
        return;
      }
      var nth = {};
      data.matters.forEach(function (m) {
        // Matters of one village spread on a sunflower spiral around its point.
        var i = nth[m.village] = (nth[m.village] || 0) + 1;
        var angle = i * 2.39996, r = 0.00035 * Math.sqrt(i);
        var dot = L.circleMarker([m.lat + r * Math.sin(angle), m.lon + r * Math.cos(angle)], {
          radius: 6, fillColor: STATE_COLOURS[m.state] || '#1c7ed6', fillOpacity: 0.9, className: 'gridlink-matter-dot',
          color: m.overdue ? OVERDUE : '#fff', weight: m.overdue ? 3 : 1
        });
        dot.bindTooltip(GM.textLabel((texts.states[m.state] || m.state) + (m.overdue ? ' · ' + texts.overdue : '')));
        dot.on('click', function (e) { showMatter(m.id, e.latlng); });
        marks.addLayer(dot);
      });
      $el.attr('data-areas', 0);
      $el.attr('data-open', data.matters.length);
    }

    // Outlines are drawn when they come, counts when they come: neither waits for the
    // other. The density map colours its outlines once the counts are there.
    function drawOutlines(shapes, named) {
      outlines.clearLayers();
      L.geoJSON(shapes, {style: OUTLINE, pane: 'gridlink-outlines'}).eachLayer(function (l) { outlines.addLayer(l); });
      if (named) { nameAreas(); }
    }

    function nameAreas() {
      outlines.eachLayer(function (l) {
        l.unbindTooltip();
        GM.tooltip(l, l.feature.properties.name, {sticky: true});  // names as text
      });
    }

    function colourAreas(data) {
      var byCode = {};
      data.areas.forEach(function (a) { byCode[a.code] = a; });
      outlines.eachLayer(function (layer) {
        var f = layer.feature, a = byCode[f.properties.code];
        layer.setStyle({color: '#fff', weight: 1, fillColor: rateColour(a && a.rate), fillOpacity: 0.8});
        var rows = a ? [f.properties.name, texts.received + ': ' + a.received,
          texts.completed + ': ' + a.completed + ' (' + percent(a.rate) + ')',
          texts.failed + ': ' + a.failed, texts.open + ': ' + a.open,
          texts.overdue + ': ' + a.overdue,
          texts.median + ': ' + (a.median_days === null ? '—' : a.median_days + ' ' + texts.days)]
          : [f.properties.name, texts.no_data];
        layer.unbindTooltip();
        layer.bindTooltip(GM.textLines(rows), {sticky: true});  // names as text
      });
    }

    function drawDensity(data) {
      colourAreas(data);
      hotspots.clearLayers();
      data.areas.forEach(function (a) {
        if (!a.overdue) { return; }
        hotspots.addLayer(L.circleMarker([a.lat, a.lon], {
          radius: 4 + 3 * Math.sqrt(a.overdue), color: OVERDUE, weight: 1, fillColor: OVERDUE,
          fillOpacity: 0.45, interactive: false}));
      });
      $el.attr('data-areas', data.areas.length);
      $el.attr('data-received', data.areas.reduce(function (n, a) { return n + a.received; }, 0));
    }

    // When the counts were made: the kept counts say (refreshed every minute).
    var asOf = L.control({position: 'bottomleft'});
    asOf.onAdd = function () {
      var box = L.DomUtil.create('div', 'gridlink-as-of');
      box.style.display = 'none';
      return box;
    };
    asOf.addTo(map);

    function showAsOf(data) {
      var box = asOf.getContainer();
      box.textContent = data.as_of ? texts.as_of.replace('%(time)s', data.as_of) : '';
      box.style.display = data.as_of ? '' : 'none';
    }

    function refresh() {
      var zoom = map.getZoom();
      var chosenLevel = filters().level;
      var params = {zoom: zoom, level: chosenLevel || defaultLevel(zoom), bbox: GM.boxParam(map.getBounds().pad(0.1))};
      var ticket = ++asked;
      var got = {};
      $el.attr('data-loading', '1');
      var shapes = $.getJSON($el.data('shapes-url'), params).done(function (fc) {
        if (ticket !== asked) { return; }  // a later move has asked again
        got.shapes = fc;
        drawOutlines(fc, mode !== 'density' || !got.data);  // else coloured right away
      });
      var counts = $.getJSON($el.data('data-url'), $.extend({}, filters(), params)).done(function (data) {
        if (ticket !== asked) { return; }
        got.data = data;
        showAsOf(data);
        if (mode !== 'density') { drawOpen(data); }
      });
      $.when(shapes, counts).done(function () {
        if (ticket !== asked) { return; }
        if (mode === 'density') { drawDensity(got.data); }
        $el.attr('data-shapes', got.shapes.features.length);
        $el.attr('data-level', params.level);
        $el.attr('data-zoom', params.zoom);
        $el.removeAttr('data-loading');
      });
    }

    var timer = null;
    map.on('moveend', function () {
      $el.attr('data-loading', '1');  // from the move on, not from the ask 200 ms later
      clearTimeout(timer);
      timer = setTimeout(refresh, 200);
    });
    refresh();
    $el.data('map', map);
  }

  $(function () { $('#gridlink-committee-map').each(function () { init(this); }); });
})(jQuery);
