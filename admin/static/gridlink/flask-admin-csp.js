/* Flask-Admin's pages under our Content-Security-Policy, which runs no inline
 * event handler and no javascript: link. Our copies of its templates mark the
 * elements instead (admin/templates/admin/), and this file binds what the inline
 * handlers did: the delete button's confirmation, the "With selected" actions,
 * and links that only exist to be clicked by other scripts. */
(function ($) {
  'use strict';

  // A delete button: sent only when confirmed.
  $(document).on('click', '[data-gridlink-confirm]', function (e) {
    if (!window.faHelpers.safeConfirm(this.getAttribute('data-gridlink-confirm'))) {
      e.preventDefault();
    }
  });

  // An action for the selected rows (actions.js asks, and submits its hidden form).
  $(document).on('click', '[data-gridlink-action]', function (e) {
    e.preventDefault();
    window.modelActions.execute(this.getAttribute('data-gridlink-action'));
  });

  // href="javascript:void(0)" (dropdown toggles, filter names, the current tab and
  // page): the policy would refuse to follow it, and report that it did. Caught on
  // the way down, as the dropdowns stop the click on its way up.
  document.addEventListener('click', function (e) {
    var link = e.target.closest && e.target.closest('a[href^="javascript:"]');
    if (link) { e.preventDefault(); }
  }, true);
})(jQuery);
