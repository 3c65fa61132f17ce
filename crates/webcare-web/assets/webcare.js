// Live SLA countdowns in the inbox: each [data-due] shows the time left (or how late), and its
// row turns red at the due time, without a reload. Orange comes from the server: the SLA
// warning's live event refreshes the rows. No inline code: the pages' CSP allows scripts from
// our own origin only.
(function () {
  "use strict";
  function fmt(ms) {
    var m = Math.floor(Math.abs(ms) / 60000);
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60), mm = m % 60;
    if (d > 0) return d + " d " + h + " u";
    if (h > 0) return h + " u " + mm + " min";
    if (mm > 0) return mm + " min";
    return "< 1 min";
  }
  function setState(row, cls, label) {
    if (!row || row.classList.contains(cls)) return;
    row.classList.remove("sla-none", "sla-within", "sla-warning", "sla-breached");
    row.classList.add(cls);
    var l = row.querySelector(".wc-sla-label");
    if (l) l.textContent = label;
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      var row = el.closest(".wc-row");
      var left = due - now;
      if (left <= 0) {
        el.textContent = "te laat: " + fmt(left);
        setState(row, "sla-breached", "te laat");
      } else {
        el.textContent = "nog " + fmt(left);
      }
    });
  }
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
  setInterval(tick, 1000);
})();
