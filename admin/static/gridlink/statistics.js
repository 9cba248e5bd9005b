// The assessment dashboard's charts (Chart.js, vendored): the figures come as JSON in
// the page (#gridlink-charts); the tables under the charts hold the same numbers.
(function () {
  "use strict";
  var source = document.getElementById("gridlink-charts");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var t = data.texts;
  var BLUE = "#2f7ebc", GREEN = "#3a9a5b", ORANGE = "#e08a2c";
  var PALETTE = [BLUE, GREEN, ORANGE, "#8e5bb5", "#c94f4f", "#4fb0c9", "#9a8f3a", "#777777"];
  Chart.defaults.font.family = "system-ui, 'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif";
  Chart.defaults.maintainAspectRatio = false;
  Chart.defaults.animation = false;

  function draw(id, config) {
    var canvas = document.getElementById(id);
    if (canvas) { new Chart(canvas, config); }
  }
  draw("chart-months", {type: "bar", data: {labels: data.months.labels, datasets: [
    {label: t.asked, data: data.months.asked, backgroundColor: BLUE},
    {label: t.completed, data: data.months.completed, backgroundColor: GREEN}]}});
  draw("chart-areas", {type: "bar", data: {labels: data.areas.labels, datasets: [
    {label: t.completion, data: data.areas.completion, backgroundColor: BLUE},
    {label: t.on_time, data: data.areas.on_time, backgroundColor: ORANGE}]},
    options: {scales: {y: {min: 0, max: 100}}}});
  draw("chart-courts", {type: "bar", data: {labels: data.courts.labels, datasets: [
    {label: t.asked, data: data.courts.asked, backgroundColor: BLUE},
    {label: t.completed, data: data.courts.completed, backgroundColor: GREEN}]},
    options: {indexAxis: "y"}});
  draw("chart-types", {type: "doughnut", data: {labels: data.types.labels, datasets: [
    {label: t.asked, data: data.types.asked, backgroundColor: PALETTE}]},
    options: {plugins: {legend: {position: "right"}}}});
})();
