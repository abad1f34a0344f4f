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
