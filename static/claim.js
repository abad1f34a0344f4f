/* Copies the invitation token from the URL fragment (never sent to servers) into the accept form. */
(function () {
  "use strict";
  var match = /[#&]token=([^&]+)/.exec(location.hash);
  if (match) {
    document.getElementById("ss-claim-token").value = decodeURIComponent(match[1]);
    history.replaceState(null, "", location.pathname);
  } else {
    document.getElementById("ss-claim-form").hidden = true;
    document.getElementById("ss-claim-missing").hidden = false;
  }
})();
