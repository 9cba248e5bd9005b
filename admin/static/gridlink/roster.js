/* Show a masked value in full (a roster phone, a matter's debtor or liaison): the
 * server checks the right and audits the showing. */
(function ($) {
  'use strict';

  $(document).on('click', '.gridlink-reveal', function () {
    var $btn = $(this);
    $.getJSON($btn.data('url')).done(function (data) {
      $btn.parent().text(data.value !== undefined ? data.value : data.phone);
    }).fail(function (xhr) {
      $btn.replaceWith($('<span class="text-danger"></span>').text(xhr.status));
    });
  });
})(jQuery);
