// Fill the digest forms' time zone from the browser, so "7:00" means the reader's
// morning. Runs on load and after htmx swaps; never overwrites a chosen value.
(function () {
  function fill(root) {
    var zone;
    try { zone = Intl.DateTimeFormat().resolvedOptions().timeZone; } catch (e) { return; }
    if (!zone) return;
    root.querySelectorAll("[data-digest-time-zone]").forEach(function (field) {
      if (field.value) return;
      if (field.tagName === "SELECT") {
        if (field.dataset.digestTimeZoneInitial !== "") return;
        var option = Array.prototype.find.call(field.options, function (o) { return o.value === zone; });
        if (option) field.value = zone;
      } else {
        field.value = zone;
      }
    });
  }
  document.addEventListener("DOMContentLoaded", function () { fill(document); });
  document.addEventListener("htmx:afterSwap", function (event) { fill(event.target); });
  if (document.readyState !== "loading") fill(document);
})();
