/* The liaison roster: show a masked phone number in full. The server checks the
 * right and audits the showing. */
(function ($) {
  'use strict';

  $(document).on('click', '.gridlink-reveal', function () {
    var $btn = $(this);
    $.getJSON($btn.data('url')).done(function (data) {
      $btn.parent().text(data.phone);
    }).fail(function (xhr) {
      $btn.replaceWith($('<span class="text-danger"></span>').text(xhr.status));
    });
  });
})(jQuery);
