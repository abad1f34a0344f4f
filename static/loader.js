/* selfserve loader: mounts the customer portal in an iframe. Full implementation: issue 6. */
(function () {
  "use strict";
  var me = document.currentScript;
  var base = me ? new URL(me.src).origin : location.origin;
  window.SelfServe = window.SelfServe || { version: "0", origin: base };
})();
