// The dashboard's little script: draws each chart from the JSON beside it (ECharts, SVG
// renderer), counts "updated N seconds ago" and refreshes the page's figures while it is
// open. The numbers are also in the tables, so the page reads without it.
(function () {
  "use strict";
  var FONT = '"Noto Sans CJK SC", "WenQuanYi Micro Hei", "Microsoft YaHei", "PingFang SC", sans-serif';
  var loaded = Date.now();

  function draw(root) {
    if (typeof echarts === "undefined") return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var data = JSON.parse(document.getElementById(el.dataset.chart).textContent);
      var kind = el.dataset.kind;
      var old = echarts.getInstanceByDom(el);
      if (old) old.dispose();
      var chart = echarts.init(el, null, { renderer: "svg" });
      var many = data.categories.length > 6;
      chart.setOption({
        animation: false,
        textStyle: { fontFamily: FONT },
        tooltip: { trigger: "axis" },
        legend: { top: 0, textStyle: { fontFamily: FONT } },
        grid: { left: 8, right: 16, top: 48, bottom: 8, containLabel: true },
        xAxis: { type: "category", data: data.categories,
                 axisLabel: { interval: 0, rotate: many ? 40 : 0, fontFamily: FONT } },
        yAxis: { type: "value", axisLabel: { fontFamily: FONT } },
        series: data.series.map(function (s) {
          return { name: s.name, type: kind, data: s.data,
                   label: { show: kind === "bar", position: "top", fontFamily: FONT } };
        })
      });
      if (data.links) {
        chart.on("click", function (p) {
          if (data.links[p.dataIndex]) window.location.href = data.links[p.dataIndex];
        });
      }
    });
  }

  // Parts that take longer (the trend) arrive separately: fetch, then swap in.
  function load(root) {
    root.querySelectorAll("[data-src]").forEach(function (el) {
      fetch(el.dataset.src, { credentials: "same-origin" }).then(function (r) {
        if (r.redirected && new URL(r.url).pathname === "/dashboard/login") {
          window.location.href = r.url;
          return null;
        }
        return r.ok ? r.text() : null;
      }).then(function (html) {
        if (!html) return;
        var part = new DOMParser().parseFromString(html, "text/html").getElementById(el.id);
        if (!part || !el.isConnected) return;
        el.replaceWith(part);
        draw(part);
      }).catch(function () { /* the link in the placeholder still works */ });
    });
  }

  function tick() {
    var el = document.getElementById("updated");
    if (!el || el.dataset.seconds === undefined) return;
    var s = Number(el.dataset.seconds) + Math.round((Date.now() - loaded) / 1000);
    el.textContent = "数据更新于 " + s + " 秒前";
  }

  function refresh() {
    var main = document.getElementById("main");
    if (!main) return;
    fetch(window.location.href, { credentials: "same-origin" }).then(function (r) {
      if (r.redirected && new URL(r.url).pathname === "/dashboard/login") {
        window.location.href = r.url;  // the session ended: log in again
        return null;
      }
      return r.ok ? r.text() : null;
    }).then(function (html) {
      if (!html) return;
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("main");
      if (!fresh) return;
      var shown = document.getElementById("trend-panel");
      main.innerHTML = fresh.innerHTML;
      var placeholder = main.querySelector("#trend-panel[data-src]");
      if (shown && !shown.dataset.src && placeholder) {
        // keep showing the trend until its refreshed copy arrives
        shown.dataset.src = placeholder.dataset.src;
        placeholder.replaceWith(shown);
      }
      loaded = Date.now();
      draw(main);
      load(main);
      tick();
      main.dataset.refreshed = String(Number(main.dataset.refreshed || 0) + 1);
    }).catch(function () { /* offline for a moment: try again next time */ });
  }

  draw(document);
  load(document);
  tick();
  setInterval(tick, 1000);
  var main = document.getElementById("main");
  if (main && main.dataset.refresh) setInterval(refresh, Number(main.dataset.refresh) * 1000);
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var chart = typeof echarts !== "undefined" && echarts.getInstanceByDom(el);
      if (chart) chart.resize();
    });
  });
})();
