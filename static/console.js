/* selfserve merchant console: open an emailed sign-in link (its secret rides in the fragment, which no server
   sees; it is posted at once and removed from the address bar). */
(function () {
  "use strict";
  var opener = document.getElementById("sc-open");
  var found = /[#&]token=([^&]+)/.exec(location.hash);
  if (opener && found) {
    history.replaceState(null, "", location.pathname + location.search);
    opener.elements.token.value = decodeURIComponent(found[1]);
    opener.submit();
  }
})();
/* Copy buttons: the text of the element the button names. */
document.addEventListener("click", function (event) {
  var button = event.target.closest("[data-copy-from]");
  if (!button || !navigator.clipboard) return;
  var source = document.getElementById(button.dataset.copyFrom);
  navigator.clipboard.writeText(source.value !== undefined ? source.value : source.textContent).then(function () {
    button.textContent = "Copied";
  });
});
/* Portal settings: as the brand fields change, ask the server for the portal's CSS variables of that brand
   (server/portal/theme.py, what the portal itself applies) and set them on the preview (same origin). */
(function () {
  var preview = document.getElementById("sc-preview"), form = document.getElementById("sc-settings");
  if (!preview || !form) return;
  var timer = 0, fields = ["primary_color", "background_color", "text_color", "radius", "font_family", "logo_url", "default_theme"];
  function refresh() {
    var query = new URLSearchParams();
    fields.forEach(function (name) { var v = form.elements[name].value; if (v || name !== "logo_url") query.set(name, v); });
    fetch(preview.dataset.themeUrl + "?" + query, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) return;
      return response.json().then(function (body) {
        var root = preview.contentDocument && preview.contentDocument.documentElement;
        if (!root) return;
        Object.keys(body.variables).forEach(function (name) { root.style.setProperty(name, body.variables[name]); });
        root.dataset.theme = body.theme;
      });
    });
  }
  form.addEventListener("input", function (event) {
    if (fields.indexOf(event.target.name) < 0) return;
    clearTimeout(timer); timer = setTimeout(refresh, 150);
  });
  form.addEventListener("change", function (event) { if (event.target.name === "default_theme") refresh(); });
})();
/* The preview frame says how tall its content is (the portal's "resize" message): no inner scrollbar. */
window.addEventListener("message", function (event) {
  var preview = document.getElementById("sc-preview"), m = event.data;
  if (!preview || event.source !== preview.contentWindow || event.origin !== location.origin) return;
  if (m && m.v === 1 && m.type === "resize" && m.data.height > 0) preview.style.height = Math.min(m.data.height, 4000) + "px";
});
