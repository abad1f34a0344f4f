/* selfserve loader. Protocol: EMBEDDING.md. CSSOM only, no <style>. */
(function (w, d) {
  "use strict";
  if (w.SelfServe) return;
  var me = d.currentScript, portal = new URL(me ? me.src : location.href).origin, live = {};

  w.addEventListener("message", function (e) {
    var m = e.data, p = m && live[m.id];
    if (p && e.origin === portal && e.source === p.frame.contentWindow && m.v === 1) p.receive(m.type, m.data || {});
  });

  function mount(target, options) {
    var el = typeof target === "string" ? d.querySelector(target) : target;
    var o = Object.assign({}, options);
    o.view = o.view || "overview";
    o.theme = o.theme || "auto";
    var id = crypto.getRandomValues(new Uint32Array(4)).join("-");
    var frame = d.createElement("iframe"), fetching = 0;
    var timer = setTimeout(function () { emit("error", { code: "timeout" }); }, 15000);
    var query = { view: o.view, origin: location.origin, theme: o.theme, id: id };
    ["locale", "org", "action", "subscription_id"].forEach(function (k) { if (o[k]) query[k] = o[k]; });

    // read late: an element may get them after its upgrade
    function fetcher() { return o.fetchToken || el.fetchToken; }
    function fresh(given) {
      return Promise.resolve().then(function () { return given || (fetcher() ? fetcher()() : ""); });
    }
    var token = o.token || fetcher() ? fresh(o.token) : null;
    function post(type, data) {
      if (frame.contentWindow) frame.contentWindow.postMessage({ v: 1, id: id, type: type, data: data }, portal);
    }
    function emit(type, detail) {
      var on = o.onEvent || el.onEvent;
      if (on) on(type, detail);
      el.dispatchEvent(new CustomEvent("selfserve:" + type, { detail: detail, bubbles: true }));
    }
    function failed() { emit("error", { code: "fetch_token" }); }
    function scheme() { // = the frame's, or it paints opaque
      frame.style.colorScheme = o.theme === "auto" ? "light dark" : o.theme;
    }

    Object.assign(frame, { title: "Billing portal", referrerPolicy: "no-referrer", allow: "clipboard-write" });
    frame.style.cssText = "display:block;width:100%;height:240px;border:0";
    scheme();
    frame.src = portal + "/embed?" + new URLSearchParams(query);
    el.appendChild(frame);
    return live[id] = {
      element: el, frame: frame,
      receive: function (type, data) {
        if (data.title) frame.title = data.title;
        if (type === "title") return;
        if (type === "hello") {
          clearTimeout(timer);
          (token || fresh()).then(function (t) {
            post("init", { token: t, theme: o.theme, locale: o.locale, view: o.view,
              action: o.action, subscription_id: o.subscription_id });
          }, failed);
          token = null;
        } else if (type === "resize") {
          frame.style.height = Math.min(Math.max(data.height | 0, 0), 1e5) + "px";
        } else if (type === "token_request") {
          if (!fetcher()) {
            if (data.ended) emit("expired", { code: data.reason });
          } else if (!fetching) {
            fetching = 1;
            fresh().then(function (t) { post("token", { token: t }); }, failed)
              .then(function () { fetching = 0; });
          }
        } else {
          if (type === "navigate") o.view = data.view;
          emit(type, data);
        }
      },
      update: function (changes) {
        Object.assign(o, changes);
        scheme();
        post("update", { theme: o.theme, locale: o.locale });
      },
      navigate: function (view) { post("navigate", { view: view }); },
      destroy: function () {
        clearTimeout(timer);
        delete live[id];
        frame.remove();
      }
    };
  }

  new MutationObserver(function () {
    for (var id in live) if (!live[id].element.isConnected) live[id].destroy();
  }).observe(d.documentElement, { childList: true, subtree: true });

  w.SelfServe = { origin: portal, mount: mount };

  customElements.define("selfserve-portal", class extends HTMLElement {
    connectedCallback() {
      var a = this.getAttribute.bind(this);
      this.portal = this.portal ||
        mount(this, { token: a("token"), view: a("view"), theme: a("theme"), locale: a("locale"), org: a("org") });
    }
    disconnectedCallback() { this.portal.destroy(); this.portal = null; }
  });
})(window, document);
