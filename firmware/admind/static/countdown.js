// Counts the firewall's probation down on the confirmation page. Without script the page
// still states the deadline; this only saves the reader the arithmetic.
(function () {
  "use strict";
  var el = document.getElementById("countdown");
  if (!el) {
    return;
  }
  var left = parseInt(el.getAttribute("data-seconds"), 10) || 0;
  var expired = el.getAttribute("data-expired");
  var end = Date.now() + left * 1000;
  function tick() {
    var now = Math.max(0, Math.round((end - Date.now()) / 1000));
    if (now <= 0) {
      el.textContent = expired;
      var button = document.getElementById("confirm");
      if (button) {
        button.disabled = true;
      }
      return;
    }
    el.textContent = String(now);
    setTimeout(tick, 500);
  }
  tick();
})();
