// A background job's page: ask how far it has got every second and a half, move the
// bar, and show the page again (with its outcome) once the job has finished.
(function () {
  "use strict";
  var box = document.getElementById("gridlink-job");
  if (!box || box.dataset.finished === "true") { return; }
  var bar = document.getElementById("gridlink-job-bar");
  var state = document.getElementById("gridlink-job-state");
  var count = document.getElementById("gridlink-job-count");

  function show(s) {
    bar.style.width = s.percent + "%";
    bar.setAttribute("aria-valuenow", s.percent);
    state.textContent = s.state_label;
    if (count && s.total) { count.textContent = s.progress_label; }
  }

  function ask() {
    fetch(box.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : Promise.reject(r.status); })
      .then(function (s) {
        show(s);
        if (s.finished) { window.location.reload(); } else { window.setTimeout(ask, 1500); }
      })
      .catch(function () { window.setTimeout(ask, 5000); });
  }
  window.setTimeout(ask, 1000);
})();
