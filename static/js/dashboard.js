// The dashboard's charts (templates/dashboard.html): one horizontal bar chart per
// <canvas data-figures="id">, its figures read from the <script type="application/json">
// that Django's json_script wrote (never executed, so the Content-Security-Policy allows
// it). Every bar has its value written beside it: nothing is told by colour alone. The
// same figures stand in a table below each chart; without JavaScript only the tables show.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  if (typeof window.Chart === "undefined") return;
  const Chart = window.Chart;
  const style = getComputedStyle(document.documentElement);
  const ink = style.getPropertyValue("--ink").trim() || "#1d2733";
  const bar = style.getPropertyValue("--brand").trim() || "#1f4e79";
  Chart.defaults.font.family = style.fontFamily;
  Chart.defaults.color = ink;
  // A bar's height (px) and the room for the axis: the chart grows with its rows.
  const ROW = 34;
  const AXIS = 44;
  // Long names are cut on the axis, shorter on a phone; the table gives them whole.
  const shorten = (label, room) => (label.length > room ? `${label.slice(0, room - 1)}…` : label);

  // Writes each bar's value ("75% (3/4)") just past its end.
  const valueLabels = {
    id: "valueLabels",
    afterDatasetsDraw(chart, _args, options) {
      const { ctx } = chart;
      ctx.save();
      ctx.fillStyle = ink;
      ctx.textBaseline = "middle";
      ctx.font = `600 13px ${style.fontFamily}`;
      chart.getDatasetMeta(0).data.forEach((element, index) => {
        ctx.fillText(options.texts[index], element.x + 6, element.y);
      });
      ctx.restore();
    },
  };

  document.querySelectorAll("canvas[data-figures]").forEach((canvas) => {
    const source = document.getElementById(canvas.dataset.figures);
    if (!source) return;
    const figures = JSON.parse(source.textContent);
    const box = canvas.parentElement;
    // CSSOM, which the Content-Security-Policy allows (a style attribute it would not).
    box.style.height = `${figures.labels.length * ROW + AXIS}px`;
    box.classList.add("drawn");
    const widest = Math.max(...figures.texts.map((text) => text.length));
    new Chart(canvas, {
      type: "bar",
      data: {
        labels: figures.labels.map((label) => shorten(label, box.clientWidth < 480 ? 9 : 14)),
        datasets: [
          {
            label: figures.heading,
            data: figures.values,
            backgroundColor: bar,
            maxBarThickness: 24,
          },
        ],
      },
      options: {
        indexAxis: "y",
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        // Room for the longest value written past the end of the longest bar.
        layout: { padding: { right: Math.min(160, widest * 8 + 12) } },
        scales: {
          x: {
            beginAtZero: true,
            max: figures.percent ? 100 : undefined,
            ticks: {
              precision: 0,
              callback: (value) => (figures.percent ? `${value}%` : value),
            },
          },
          y: { ticks: { autoSkip: false } },
        },
        plugins: {
          legend: { display: false },
          tooltip: {
            callbacks: {
              title: (items) => figures.labels[items[0].dataIndex],
              label: (item) => `${figures.heading}: ${figures.texts[item.dataIndex]}`,
            },
          },
          valueLabels: { texts: figures.texts },
        },
      },
      plugins: [valueLabels],
    });
    // The chart is drawn: its table folds away, one click from being read.
    const table = box.parentElement.querySelector("details.chart-table");
    if (table) table.open = false;
  });
});
