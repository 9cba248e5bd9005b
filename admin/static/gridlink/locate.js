/* 查找网格: an address typed, or a point clicked on the map, becomes the grid that answers
 * for it, drawn on the map with its liaison, grid workers and serving courts.
 * The answer comes from /api/v1/locate (scoped and masked on the server); a liaison's
 * full phone number is asked for separately, and that asking is audited.
 * Texts come translated from the page (its gridlink-locate-config block). */
(function ($) {
  'use strict';

  var C = GridlinkMap.readJSON('gridlink-locate-config');
  var T = C.texts;
  var FOUND_STYLE = {color: '#d9480f', weight: 3, dashArray: null, fillColor: '#ff922b', fillOpacity: 0.25,
                     interactive: false};
  var CANDIDATE_STYLE = {color: '#7048e8', weight: 2, dashArray: '6 4', fillColor: '#9775fa',
                         fillOpacity: 0.12, interactive: false};

  var $form = $('#gridlink-locate-form');
  var $input = $('#gridlink-address');
  var $result = $('#gridlink-locate-result');
  var $map = $('#gridlink-locate-map');
  var map = GridlinkMap.newMap($map.get(0));
  var LEVELS = ['county', 'town', 'village', 'microgrid'];
  var context = L.featureGroup().addTo(map);   // divisions around, for orientation
  var shapes = L.featureGroup().addTo(map);    // the grid found, or the candidates
  var pin = L.featureGroup().addTo(map);       // the point clicked
  var candidateLayers = {};
  var asked = 0;  // only the newest answer is shown when lookups overlap

  function fill(template, params) {
    return template.replace(/%\((\w+)\)s/g, function (m, key) { return key in params ? params[key] : m; });
  }

  function label(dict, key) { return (key && dict[key]) || key || ''; }

  // Divisions for orientation: coarser when zoomed out, never wider than the account's area.
  function contextLevel() {
    var zoom = map.getZoom();
    var byZoom = zoom < 10 ? 0 : (zoom < 12.5 ? 1 : 2);
    return LEVELS[Math.max(byZoom, LEVELS.indexOf(C.coarsest))];
  }
  var timer = null;
  map.on('moveend', function () {
    clearTimeout(timer);
    timer = setTimeout(function () { GridlinkMap.loadShapes(C.shapesUrl, map, context, contextLevel(), null); }, 200);
  });

  function fitTo(layer) {
    if (layer.getLayers().length) {
      map.fitBounds(layer.getBounds().pad(0.5), {animate: false, maxZoom: 16});
    }
  }

  function outline(geometry, style) {
    return L.geoJSON(geometry, {style: style, interactive: false});
  }

  function row(title, $content) {
    return $('<div class="gridlink-locate-row"></div>')
      .append($('<div class="gridlink-locate-label"></div>').text(title))
      .append($('<div class="gridlink-locate-value"></div>').append($content));
  }

  function phone(text) { return $('<span class="gridlink-phone text-monospace"></span>').text(text || ''); }

  function liaisonBlock(grid, liaison) {
    if (!liaison) { return $('<span class="text-muted"></span>').text(T.no_liaison); }
    var $box = $('<span id="gridlink-locate-liaison"></span>')
      .append($('<span class="font-weight-bold"></span>').text(liaison.name))
      .append(liaison.title ? $('<span class="text-muted ml-1"></span>').text(liaison.title) : '')
      .append(' ').append(phone(liaison.phone));
    if (C.mayReveal && liaison.phone) {
      $('<button type="button" class="btn btn-link btn-sm p-0 ml-1" id="gridlink-locate-reveal"></button>')
        .text(T.show).data('code', grid.code).appendTo($box);
    }
    return $box;
  }

  function workersBlock(workers) {
    if (!workers || !workers.length) { return $('<span class="text-muted"></span>').text(T.no_workers); }
    var $list = $('<ul class="list-unstyled mb-0" id="gridlink-locate-workers"></ul>');
    workers.forEach(function (w) {
      $('<li></li>').text(w.name + ' ').append(phone(w.phone)).appendTo($list);
    });
    return $list;
  }

  function courtsBlock(courts) {
    var $list = $('<ul class="list-unstyled mb-0" id="gridlink-locate-courts"></ul>');
    (courts || []).forEach(function (c) {
      $('<li></li>').text(c.name)
        .append($('<span class="badge badge-light ml-1"></span>').text(label(C.courtKinds, c.kind)))
        .append(c.phone ? $('<span class="text-muted text-nowrap ml-1"></span>').text(c.phone) : '')
        .appendTo($list);
    });
    return $list;
  }

  // The grid's own part of the card: where it is, who answers for it, which courts.
  function gridBlock(grid, liaison, details) {
    var $box = $('<div id="gridlink-locate-grid"></div>').attr('data-code', grid.code);
    $('<h4 class="h5 mb-1"></h4>').text(grid.name)
      .append($('<small class="text-muted ml-2"></small>').text(label(C.levels, grid.level) + ' ' + grid.code))
      .appendTo($box);
    $box.append(row(T.path, $('<span id="gridlink-locate-path"></span>').text((grid.path || []).join(' › '))));
    $box.append(row(T.liaison, liaisonBlock(grid, liaison)));
    if (details) {
      $box.append(row(T.workers, workersBlock(details.workers)));
      $box.append(row(T.courts, courtsBlock(details.courts)));
    }
    return $box;
  }

  function howBlock(result) {
    var $box = $('<div class="gridlink-locate-how"></div>');
    if (result.method) {
      $box.append(row(T.method, $('<span id="gridlink-locate-method"></span>').text(label(C.methods, result.method))));
      $box.append(row(T.confidence, $('<span id="gridlink-locate-confidence"></span>')
        .text(Math.round((result.confidence || 0) * 100) + '%')));
    }
    // "outside your area" is the reason itself when it applies: not said twice.
    var flags = (result.flags || []).filter(function (flag) { return flag !== 'outside_scope'; });
    if (flags.length) {
      var $flags = $('<span id="gridlink-locate-flags"></span>');
      flags.forEach(function (flag) {
        $flags.append($('<span class="badge badge-warning mr-1"></span>').text(label(C.flags, flag)));
      });
      $box.append(row('', $flags));
    }
    return $box;
  }

  function drawGrid(details) {
    shapes.clearLayers();
    if (details && details.outline) {
      shapes.addLayer(outline(details.outline, FOUND_STYLE));
      fitTo(shapes);
    }
  }

  // One of several grids chosen: outlined, and its people and courts shown below the list.
  // `known` carries what the answer already holds for it (no second request).
  function chooseCandidate(candidate, $item, known) {
    $item.addClass('active').siblings().removeClass('active');
    Object.keys(candidateLayers).forEach(function (code) {
      candidateLayers[code].setStyle(code === candidate.code ? FOUND_STYLE : CANDIDATE_STYLE);
    });
    var $slot = $item.closest('#gridlink-locate-candidates').siblings('#gridlink-locate-choice');
    if (known) {
      $slot.empty().append(gridBlock(candidate, known.liaison, known.details).addClass('mt-3'));
      return;
    }
    $slot.empty().append($('<div class="text-muted"></div>').text(T.searching));
    $.getJSON(C.gridUrl.replace('CODE', encodeURIComponent(candidate.code)), {details: 1}).done(function (data) {
      $slot.empty().append(gridBlock(candidate, data.liaison, data.details).addClass('mt-3'));
      if (candidateLayers[candidate.code]) {
        map.fitBounds(candidateLayers[candidate.code].getBounds().pad(0.3), {animate: false});
      }
    }).fail(function (xhr) { $slot.empty().append(failure(xhr)); });
  }

  function candidatesBlock(result, title) {
    var $box = $('<div></div>').append($('<div class="mb-1"></div>').text(title));
    var $list = $('<div class="list-group mb-2" id="gridlink-locate-candidates"></div>').appendTo($box);
    var outlines = {};
    ((result.details && result.details.candidates) || []).forEach(function (c) { outlines[c.code] = c.outline; });
    shapes.clearLayers();
    candidateLayers = {};
    result.candidates.forEach(function (candidate, i) {
      var $item = $('<button type="button" class="list-group-item list-group-item-action"></button>')
        .attr('data-code', candidate.code)
        .append($('<span class="badge badge-pill gridlink-locate-number mr-2"></span>').text(i + 1))
        .append($('<span class="font-weight-bold"></span>').text(candidate.name))
        .append($('<span class="text-muted ml-2"></span>').text((candidate.path || []).join(' › ')))
        .append($('<small class="text-muted d-block"></small>').text(label(C.levels, candidate.level) + ' ' + candidate.code))
        .on('click', function () { chooseCandidate(candidate, $item); })
        .appendTo($list);
      if (outlines[candidate.code]) {
        var layer = outline(outlines[candidate.code], CANDIDATE_STYLE);
        // Just the number: the division's own label sits at the centre already.
        GridlinkMap.tooltip(layer, i + 1, {permanent: true, direction: 'top', offset: [0, -10],
                                           className: 'gridlink-locate-tip'});
        candidateLayers[candidate.code] = layer;
        shapes.addLayer(layer);
      }
    });
    fitTo(shapes);
    return $box.append('<div id="gridlink-locate-choice"></div>');
  }

  function failure(xhr) {
    var error = (xhr.responseJSON && xhr.responseJSON.error) || xhr.statusText || xhr.status;
    return $('<div class="alert alert-danger" id="gridlink-locate-error"></div>').text(fill(T.failed, {error: error}));
  }

  function show(result) {
    var $card = $('<div class="card" id="gridlink-locate-card"></div>').attr('data-status', result.status);
    var badge = {matched: 'badge-success', ambiguous: 'badge-warning', unmatched: 'badge-secondary'}[result.status];
    $('<div class="card-header"></div>')
      .append($('<span class="badge mr-2" id="gridlink-locate-status"></span>').addClass(badge)
        .text(label(C.status, result.status)))
      .append($('<span class="gridlink-locate-input"></span>').text(result.input))
      .appendTo($card);
    var $body = $('<div class="card-body"></div>').appendTo($card);
    var details = result.details || {};
    var reason = details.reason_text || result.reason || '';
    shapes.clearLayers();
    if (result.status === 'matched' && result.grid && result.candidates.length) {
      // On a shared boundary: every grid there is listed, the one the rule picks is shown.
      $body.append($('<div class="small text-muted mb-2" id="gridlink-locate-reason"></div>').text(reason));
      $body.append(candidatesBlock(result, T.sharing));
      chooseCandidate(result.grid, $body.find('#gridlink-locate-candidates [data-code="' + result.grid.code + '"]'),
                      {liaison: result.liaison, details: details.grid});
    } else if (result.status === 'matched' && result.grid) {
      $body.append(gridBlock(result.grid, result.liaison, details.grid));
      drawGrid(details.grid);
    } else if (result.status === 'ambiguous') {
      if (reason) {
        $body.append($('<div class="small text-muted mb-2" id="gridlink-locate-reason"></div>').text(reason));
      }
      $body.append(candidatesBlock(result, T.candidates));
    } else {
      $body.append(row(T.reason, $('<span id="gridlink-locate-reason"></span>').text(reason)));
    }
    $body.append(howBlock(result));
    $result.empty().append($card);
    $map.attr('data-status', result.status);
  }

  function lookup(params, state) {
    var mine = ++asked;
    $result.empty().append($('<div class="text-muted"></div>').text(T.searching));
    if (window.history && window.history.replaceState) {
      window.history.replaceState(null, '', '?' + $.param(state));
    }
    $.getJSON(C.locateUrl, $.extend({details: 1}, params))
      .done(function (result) { if (mine === asked) { show(result); } })
      .fail(function (xhr) { if (mine === asked) { $result.empty().append(failure(xhr)); } });
  }

  // A point as text: six decimals (10 cm) for a click, exactly as given for a link.
  function lookupPoint(lonText, latText) {
    pin.clearLayers();
    L.circleMarker([Number(latText), Number(lonText)], {radius: 7, color: '#fff', weight: 2, fillColor: '#c92a2a',
                                                        fillOpacity: 1, interactive: false}).addTo(pin);
    lookup({lon: lonText, lat: latText}, {lonlat: lonText + ',' + latText});
  }

  $form.on('submit', function (e) {
    e.preventDefault();
    var address = $.trim($input.val());
    if (!address) {
      $result.empty().append($('<div class="alert alert-info"></div>').text(T.empty));
      return;
    }
    pin.clearLayers();
    lookup({address: address}, {q: address});
  });

  map.on('click', function (e) { lookupPoint(e.latlng.lng.toFixed(6), e.latlng.lat.toFixed(6)); });

  $(document).on('click', '#gridlink-locate-reveal', function () {
    var $btn = $(this);
    $.getJSON(C.phoneUrl.replace('CODE', encodeURIComponent($btn.data('code')))).done(function (data) {
      $btn.siblings('.gridlink-phone').text(data.phone);
      $btn.remove();
    }).fail(function (xhr) {
      $btn.replaceWith($('<span class="text-danger ml-1"></span>').text(xhr.status));
    });
  });

  // A link to the page may carry the question: ?q=ADDRESS or ?lonlat=LON,LAT.
  var query = new URLSearchParams(window.location.search);
  var lonlat = (query.get('lonlat') || '').split(',');
  if (C.bounds) { map.fitBounds(C.bounds, {animate: false}); }
  map.fire('moveend');
  if (query.get('q')) {
    $input.val(query.get('q'));
    $form.trigger('submit');
  } else if (lonlat.length === 2 && lonlat.every(function (v) { return v.trim() !== '' && isFinite(v); })) {
    lookupPoint(lonlat[0].trim(), lonlat[1].trim());
  }
  $map.data('map', map);
})(jQuery);
