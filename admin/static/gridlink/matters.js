/* gridlink court matters: the filing form's type-specific questions, a matter's small
 * map (its grid and the debtor's points), the re-route box, and the queues' map where
 * a candidate or a map click places a matter. Served by the app, like all our code. */
(function ($) {
  'use strict';

  var PRIMARY_STYLE = {color: '#1c7ed6', weight: 3, fillColor: '#4dabf7', fillOpacity: 0.2};
  var CANDIDATE_STYLE = {color: '#e8590c', weight: 2, dashArray: '6 4', fillColor: '#ffa94d', fillOpacity: 0.25};
  var CANDIDATE_HOVER = {fillOpacity: 0.5, weight: 3};
  var PICKED_STYLE = {color: '#2b8a3e', weight: 3, fillColor: '#51cf66', fillOpacity: 0.25};
  var RETURNED_STYLE = {color: '#868e96', weight: 2, dashArray: '2 4', fillColor: '#adb5bd', fillOpacity: 0.2};

  // Our shapes in a pane above the village outlines, which load later and would cover them.
  function matterPane(map) {
    if (!map.getPane('gridlink-matters')) { map.createPane('gridlink-matters').style.zIndex = 450; }
    return 'gridlink-matters';
  }

  // Candidate names above the grids' own labels (Leaflet's tooltip pane is at 650).
  function labelPane(map) {
    if (!map.getPane('gridlink-labels')) { map.createPane('gridlink-labels').style.zIndex = 700; }
    return 'gridlink-labels';
  }

  // The grids around what the map shows, for orientation: towns when zoomed out,
  // villages when close. data-background says which level was drawn last.
  function withBackground(el) {
    var map = GridlinkMap.newMap(el);
    var layer = L.featureGroup().addTo(map);
    map.on('moveend', function () {
      var level = map.getZoom() >= 13 ? 'village' : 'town';
      GridlinkMap.loadShapes($(el).data('shapes-url'), map, layer, level, null)
        .always(function () { $(el).attr('data-background', level); });
    });
    return map;
  }

  function pathText(grid) {
    if (!grid) { return ''; }
    var path = (grid.path || []).map(function (p) { return typeof p === 'string' ? p : p.name; });
    if (!path.length || path[path.length - 1] !== grid.name) { path.push(grid.name); }
    return path.join(' / ') + '（' + grid.code + '）';
  }

  // What the locate API says about a point: {grid, outline, reason} (grid null when
  // no grid, or more than one, covers it; reason then says why).
  function locate(url, latlng) {
    return $.getJSON(url, {lon: latlng.lng.toFixed(6), lat: latlng.lat.toFixed(6), details: 1})
      .then(function (data) {
        var details = data.details || {};
        var grid = data.grid && data.grid.code ? data.grid : null;
        return {grid: grid, outline: grid && details.grid ? details.grid.outline : null,
                reason: details.reason_text || data.reason || ''};
      });
  }

  function drawPicked(map, layer, latlng, found) {
    layer.clearLayers();
    if (found && found.outline) {
      L.geoJSON(found.outline, {style: PICKED_STYLE, interactive: false, pane: matterPane(map)}).addTo(layer);
    }
    L.marker(latlng, {interactive: false}).addTo(layer);
  }

  function drawPoints(map, layer, points) {
    (points || []).forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], {radius: 7, color: '#c92a2a', weight: 2, fillColor: '#fa5252',
                                                   fillOpacity: 0.9, pane: matterPane(map)});
      GridlinkMap.tooltip(marker, p.kind + (p.text ? '：' + p.text : '')).addTo(layer);
    });
  }

  /* --- the filing form ------------------------------------------------------------- */

  function initFiling(form) {
    var $form = $(form);
    var days = $form.data('default-days') || {};
    var $type = $form.find('#matter_type');
    var $deadline = $form.find('#deadline');
    var $hint = $form.find('#deadline-hint');
    var typed = !!$deadline.val();
    $deadline.on('input change', function () { typed = !!$deadline.val(); });

    function addDays(iso, n) {
      var d = new Date(iso + 'T00:00:00');
      d.setDate(d.getDate() + n);
      var pad = function (v) { return (v < 10 ? '0' : '') + v; };
      return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate());
    }

    function show() {
      var type = $type.val();
      // Only the chosen type's questions are shown, and only they are sent.
      $form.find('.gridlink-request-group').each(function () {
        var mine = $(this).data('type') === type;
        $(this).prop('hidden', !mine).find('input, select, textarea').prop('disabled', !mine);
      });
      if (type && days[type]) {
        $hint.text(String($hint.data('template')).replace('__DAYS__', days[type]));
        if (!typed) { $deadline.val(addDays($form.data('today'), days[type])); }
      }
    }
    $type.on('change', show);
    show();
  }

  /* --- one matter: its map and the re-route box ------------------------------------ */

  function chooseGrid($form, grid) {
    $form.find('#reroute-code').val(grid.code);
    $form.find('#reroute-chosen').text(pathText(grid)).addClass('font-weight-bold');
    $form.find('#reroute-results').empty();
  }

  function initReroute($form) {
    var timer = null;
    var $results = $form.find('#reroute-results');
    $form.find('#reroute-search').on('input', function () {
      var q = $(this).val().trim();
      clearTimeout(timer);
      if (!q) { $results.empty(); return; }
      timer = setTimeout(function () {
        $.getJSON($form.data('lookup-url'), {q: q}).done(function (data) {
          $results.empty();
          data.grids.forEach(function (g) {
            $('<button type="button" class="list-group-item list-group-item-action py-1 small"></button>')
              .text(g.path + '（' + g.code + '）').attr('data-code', g.code)
              .on('click', function () { chooseGrid($form, {code: g.code, name: g.name, path: g.path.split(' / ')}); })
              .appendTo($results);
          });
        });
      }, 250);
    });
  }

  function initMatterMap(el) {
    var data = GridlinkMap.readJSON('gridlink-matter-data') || {};
    var map = withBackground(el);
    var shapes = L.featureGroup().addTo(map);
    if (data.primary) {
      GridlinkMap.tooltip(L.geoJSON(data.primary.geometry, {style: PRIMARY_STYLE, pane: matterPane(map)}),
                          data.primary.name, {sticky: true}).addTo(shapes);
    }
    (data.candidates || []).forEach(function (c) {
      GridlinkMap.tooltip(L.geoJSON(c.geometry, {style: CANDIDATE_STYLE, pane: matterPane(map)}),
                          c.code, {sticky: true}).addTo(shapes);
    });
    drawPoints(map, shapes, data.points);
    if (shapes.getLayers().length) {
      map.fitBounds(shapes.getBounds().pad(0.3), {maxZoom: 15, animate: false});
    } else {
      map.fire('moveend');
    }
    var $reroute = $('#gridlink-reroute');
    if ($reroute.length) {
      initReroute($reroute);
      var picked = L.featureGroup().addTo(map);
      map.on('click', function (e) {
        drawPicked(map, picked, e.latlng, null);
        locate($(el).data('locate-url'), e.latlng).done(function (found) {
          drawPicked(map, picked, e.latlng, found);
          if (found.grid) {
            chooseGrid($reroute, found.grid);
          } else {
            $reroute.find('#reroute-code').val('');
            $reroute.find('#reroute-chosen').text(found.reason || $reroute.find('#reroute-chosen').data('none'))
              .removeClass('font-weight-bold');
          }
        });
      });
    }
    $(el).attr('data-ready', 1).data('map', map);
  }

  /* --- the queues ------------------------------------------------------------------ */

  function initQueue(el) {
    var $el = $(el);
    var matters = GridlinkMap.readJSON('gridlink-queue-data') || [];
    var candidates = GridlinkMap.readJSON('gridlink-queue-candidates') || [];
    var map = withBackground(el);
    var shapes = L.featureGroup().addTo(map);
    var picked = L.featureGroup().addTo(map);
    var current = null;

    function submitCandidate($card, code) {
      $card.find('form.gridlink-pick[data-code="' + code + '"]').trigger('submit');
    }

    function select(index) {
      var matter = matters[index];
      var $card = $('#matter-' + matter.id);
      current = index;
      $('.gridlink-queue-card').removeClass('border-primary gridlink-selected');
      $card.addClass('border-primary gridlink-selected');
      shapes.clearLayers();
      picked.clearLayers();
      (candidates[index] || []).forEach(function (c) {
        if (!c.geometry) { return; }
        var polygon = L.geoJSON(c.geometry, {style: CANDIDATE_STYLE, bubblingMouseEvents: false,
                                             pane: matterPane(map)});
        polygon.on('mouseover', function () { polygon.setStyle(CANDIDATE_HOVER); });
        polygon.on('mouseout', function () { polygon.setStyle(CANDIDATE_STYLE); });
        polygon.on('click', function (e) { L.DomEvent.stopPropagation(e); submitCandidate($card, c.code); });
        polygon.addTo(shapes);
        if (c.point) {
          var icon = GridlinkMap.textIcon({className: 'gridlink-candidate-label', iconSize: null,
                                           text: c.label, attributes: {'data-code': c.code}});
          L.marker([c.point[1], c.point[0]], {icon: icon, title: c.label, pane: labelPane(map)})
            .on('click', function () { submitCandidate($card, c.code); }).addTo(shapes);
        }
      });
      if (matter.returned && matter.returned.geometry) {
        // The grid that said "not ours": where the matter was, not a choice.
        GridlinkMap.tooltip(L.geoJSON(matter.returned.geometry, {style: RETURNED_STYLE, interactive: true,
                                                                 pane: matterPane(map)}),
                            $el.data('returned-label')).addTo(shapes);
      }
      drawPoints(map, shapes, matter.points);
      if (shapes.getLayers().length) {
        map.fitBounds(shapes.getBounds().pad(0.3), {maxZoom: 15, animate: false});
      }
      $el.attr('data-selected', matter.id);
    }

    // A click elsewhere on the map: which grid is there, and a button to confirm it.
    map.on('click', function (e) {
      if (current === null) { return; }
      var $card = $('#matter-' + matters[current].id);
      var $form = $card.find('form.gridlink-map-pick');
      drawPicked(map, picked, e.latlng, null);
      $card.find('.gridlink-map-hint').prop('hidden', true);
      locate($el.data('locate-url'), e.latlng).done(function (found) {
        drawPicked(map, picked, e.latlng, found);
        if (!found.grid) {
          $form.prop('hidden', false).find('button').prop('disabled', true);
          $form.find('input[name=code]').val('');
          $form.find('.gridlink-picked').text(found.reason || $el.data('none'));
          return;
        }
        $form.find('input[name=code]').val(found.grid.code);
        $form.find('.gridlink-picked').text(String($el.data('found')).replace('__GRID__', pathText(found.grid)));
        $form.prop('hidden', false).find('button').prop('disabled', false);
        $el.attr('data-picked', found.grid.code);
      }).fail(function () {
        $form.prop('hidden', false).find('button').prop('disabled', true);
        $form.find('.gridlink-picked').text($el.data('failed'));
      });
    });

    $('.gridlink-queue-card').each(function (index) {
      $(this).on('click', function (e) {
        if ($(e.target).closest('a, button, form').length) { return; }
        if (current !== index) { select(index); }
      });
    });
    var wanted = window.location.hash.replace('#matter-', '');
    var start = 0;
    matters.forEach(function (m, i) { if (m.id === wanted) { start = i; } });
    if (matters.length) { select(start); } else { map.fire('moveend'); }
    $el.attr('data-ready', 1).data('map', map);
  }

  $(function () {
    $('#gridlink-filing').each(function () { initFiling(this); });
    $('#gridlink-matter-map').each(function () { initMatterMap(this); });
    $('#gridlink-queue-map').each(function () { initQueue(this); });
  });
})(jQuery);
