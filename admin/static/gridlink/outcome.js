/* gridlink outcomes: the outcome form on a phone (questions that follow earlier
 * answers, property items added and removed, a point from the phone's GPS or the
 * map, files checked for size before they are sent) and the small map of an
 * outcome on the matter's page. Served by the app; labels are set as text. */
(function ($) {
  'use strict';

  var ANSWER_STYLE = {radius: 8, color: '#1c7ed6', weight: 2, fillColor: '#4dabf7', fillOpacity: 0.9};
  var PHOTO_STYLE = {radius: 6, color: '#e8590c', weight: 2, fillColor: '#ffa94d', fillOpacity: 0.9};

  function fill(template, key, value) { return String(template || '').replace(key, value); }

  /* --- the matter's page: where the outcome's points are ----------------------------- */

  function initOutcomeMap(el) {
    var found = GridlinkMap.readJSON('gridlink-outcome-points') || [];
    var map = GridlinkMap.withVillages(el);  // the villages around, for orientation
    var layer = L.featureGroup().addTo(map);
    found.forEach(function (p) {
      var marker = L.circleMarker([p.lat, p.lon], p.kind === 'photo' ? PHOTO_STYLE : ANSWER_STYLE);
      GridlinkMap.tooltip(marker, p.label).addTo(layer);
    });
    if (found.length) {
      map.fitBounds(layer.getBounds().pad(0.5), {maxZoom: 16, animate: false});
    } else {
      map.fire('moveend');
    }
    $(el).attr('data-points', found.length);
  }

  /* --- the form ------------------------------------------------------------------------- */

  // A question that applies only after some answer (data-when names the field).
  function follow($form) {
    function update() {
      $form.find('[data-when]').each(function () {
        var $q = $(this);
        var value = $form.find('[name="' + $q.data('when') + '"]').filter(function () {
          return this.type !== 'radio' || this.checked;
        }).val();
        var shown = String($q.data('when-values')).split(' ').indexOf(value || '') >= 0;
        $q.prop('hidden', !shown);
      });
    }
    $form.on('change', 'select, input[type=radio]', update);
    update();
  }

  function pointInputs($form, name) {
    return {lon: $form.find('[name="' + name + '-lon"]'), lat: $form.find('[name="' + name + '-lat"]')};
  }

  function numberOf($form, name) {
    var $item = $form.find('[data-point="' + name + '"]').closest('.gridlink-item');
    return $item.length ? $item.find('.gridlink-item-number').text() : '';
  }

  function initPicker($form, texts) {
    var el = document.getElementById('gridlink-outcome-pick-map');
    if (!el) { return {show: function () {}, refresh: function () {}}; }
    var map = GridlinkMap.withVillages(el);
    var markers = L.featureGroup().addTo(map);
    var active = $form.find('[data-point]').first().data('point');

    function setPoint(name, latlng) {
      var inputs = pointInputs($form, name);
      inputs.lon.val(latlng.lng.toFixed(6));
      inputs.lat.val(latlng.lat.toFixed(6));
      refresh();
    }

    function refresh() {
      markers.clearLayers();
      $form.find('[data-point]').each(function () {
        var name = $(this).data('point');
        var inputs = pointInputs($form, name);
        var lon = parseFloat(inputs.lon.val()), lat = parseFloat(inputs.lat.val());
        if (isNaN(lon) || isNaN(lat)) { return; }
        var marker = L.marker([lat, lon], {draggable: true});
        var n = numberOf($form, name);
        GridlinkMap.tooltip(marker, n ? fill(texts.point, '__N__', n) : '', {permanent: !!n, direction: 'top'});
        marker.on('dragend', function () { setPoint(name, marker.getLatLng()); });
        markers.addLayer(marker);
      });
      if (markers.getLayers().length) {
        map.fitBounds(markers.getBounds().pad(0.5), {maxZoom: 17, animate: false});
      }
      $(el).attr('data-markers', markers.getLayers().length);
    }

    function choose(name) {
      active = name;
      $form.find('.gridlink-item').removeClass('gridlink-picking');
      $form.find('[data-point="' + name + '"]').closest('.gridlink-item').addClass('gridlink-picking');
      var n = numberOf($form, name);
      $('#gridlink-pick-help').text(fill(texts.picking, '__WHAT__', n ? fill(texts.point, '__N__', n) : ''));
      el.scrollIntoView({behavior: 'smooth', block: 'center'});
    }

    map.on('click', function (e) { if (active) { setPoint(active, e.latlng); } });
    $form.on('click', '.gridlink-pick', function () { choose($(this).data('target')); });
    $form.on('change', '[data-point] input', refresh);
    refresh();
    return {refresh: refresh, choose: choose};
  }

  // "Use my location": the phone's position (WGS84, as navigator.geolocation gives it).
  function initLocation($form, texts, picker) {
    $form.on('click', '.gridlink-use-location', function () {
      var name = $(this).data('target');
      var $status = $form.find('.gridlink-location-status[data-for="' + name + '"]');
      if (!navigator.geolocation) { $status.text(fill(texts.noLocation, '__WHY__', '—')); return; }
      $status.text(texts.locating);
      navigator.geolocation.getCurrentPosition(function (position) {
        var inputs = pointInputs($form, name);
        inputs.lon.val(position.coords.longitude.toFixed(6));
        inputs.lat.val(position.coords.latitude.toFixed(6));
        $status.text(fill(texts.located, '__M__', Math.round(position.coords.accuracy || 0)));
        picker.refresh();
      }, function (error) {
        $status.text(fill(texts.noLocation, '__WHY__', error.message || error.code));
      }, {enableHighAccuracy: true, timeout: 20000, maximumAge: 60000});
    });
  }

  function numberItems($form) {
    $form.find('.gridlink-item').each(function (i) { $(this).find('.gridlink-item-number').text(i + 1); });
  }

  function initItems($form, picker) {
    var $items = $form.find('#gridlink-items');
    if (!$items.length) { return; }
    var template = document.getElementById('gridlink-item-template');
    var next = $items.find('.gridlink-item').length;
    numberItems($form);
    $form.on('click', '#gridlink-add-item', function () {
      var html = template.innerHTML.split('__i__').join(String(next));
      next += 1;
      var $row = $($.parseHTML(html.trim())).insertBefore(this);
      numberItems($form);
      $row.find('select, input').first().trigger('focus');
    });
    $form.on('click', '.gridlink-remove-item', function () {
      if ($form.find('.gridlink-item').length > 1) {
        $(this).closest('.gridlink-item').remove();
      } else {
        $(this).closest('.gridlink-item').find('input, select, textarea').val('');
      }
      numberItems($form);
      picker.refresh();
    });
  }

  // A file over the limit is said at once, by name, and not sent.
  function initFiles($form) {
    $form.on('change', 'input[type=file]', function () {
      var input = this, max = parseInt($(input).data('max-bytes'), 10), refused = [];
      Array.prototype.forEach.call(input.files || [], function (file) {
        if (max && file.size > max) { refused.push(fill($(input).data('too-big'), '__NAME__', file.name)); }
      });
      $(input).siblings('.gridlink-too-big').remove();
      $form.find('.gridlink-file-names[data-for="' + input.id + '"]').text(
        Array.prototype.map.call(input.files || [], function (f) { return f.name; }).join('、'));
      if (refused.length) {
        input.value = '';
        $form.find('.gridlink-file-names[data-for="' + input.id + '"]').text('');
        refused.forEach(function (message) {
          $('<div class="invalid-feedback d-block gridlink-too-big"></div>').text(message).insertAfter(input);
        });
      }
    });
    $form.on('click', '.gridlink-unkeep', function () { $(this).closest('.gridlink-kept-file').remove(); });
  }

  function initForm(form) {
    var $form = $(form);
    var texts = GridlinkMap.readJSON('gridlink-outcome-texts') || {};
    follow($form);
    var picker = initPicker($form, texts);
    initLocation($form, texts, picker);
    initItems($form, picker);
    initFiles($form);
    $form.on('submit', function () { $form.find('#gridlink-outcome-save').prop('disabled', true); });
  }

  $(function () {
    var map = document.getElementById('gridlink-outcome-map');
    if (map) { initOutcomeMap(map); }
    var form = document.getElementById('gridlink-outcome');
    if (form) { initForm(form); }
  });
})(jQuery);
