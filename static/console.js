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
