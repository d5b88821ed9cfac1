// Tổng quan: draws the trend and ranking charts from the JSON the page carries
// (#overview-data), again after each htmx swap of the figures. Chart.js is the UMD build.
(function () {
  var charts = [];
  var vi = document.documentElement.lang !== 'en';
  function pct(v) {
    if (v === null || v === undefined) return '—';
    var s = (v * 100).toFixed(1);
    return (vi ? s.replace('.', ',') : s) + '%';
  }
  function draw() {
    charts.forEach(function (c) {
      c.destroy();
    });
    charts = [];
    var el = document.getElementById('overview-data');
    if (!el || typeof Chart === 'undefined') return;
    var d = JSON.parse(el.textContent);
    var common = {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      plugins: {
        legend: { display: false },
        tooltip: {
          callbacks: {
            label: function (c) {
              return pct(c.raw);
            },
          },
        },
      },
    };
    var trend = document.getElementById('trend-chart');
    if (trend)
      charts.push(
        new Chart(trend, {
          type: 'line',
          data: {
            labels: d.trend.map(function (p) {
              return p.label.slice(5) + '/' + p.label.slice(0, 4);
            }),
            datasets: [
              {
                label: d.labels.index,
                data: d.trend.map(function (p) {
                  return p.index;
                }),
                borderColor: '#0a3069',
                backgroundColor: '#0a3069',
                spanGaps: true,
              },
            ],
          },
          options: Object.assign({}, common, { scales: { y: { min: 0, max: 1, ticks: { callback: pct } } } }),
        }),
      );
    var ranking = document.getElementById('ranking-chart');
    if (ranking)
      charts.push(
        new Chart(ranking, {
          type: 'bar',
          data: {
            labels: d.ranking.map(function (r) {
              return r.label;
            }),
            datasets: [
              {
                label: d.labels.index,
                data: d.ranking.map(function (r) {
                  return r.index;
                }),
                backgroundColor: d.ranking.map(function (r) {
                  return r.ranked ? '#0a3069' : '#8c959f';
                }),
              },
            ],
          },
          options: Object.assign({}, common, {
            indexAxis: 'y',
            scales: { x: { min: 0, max: 1, ticks: { callback: pct } } },
          }),
        }),
      );
  }
  document.addEventListener('DOMContentLoaded', draw);
  document.addEventListener('htmx:afterSettle', draw);
})();
