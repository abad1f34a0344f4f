/* selfserve frame-side script: handshake with the host page, token -> session exchange, fragment navigation,
   form actions with the bearer session, auto-height, token refresh. Protocol: EMBEDDING.md (envelope v1). */
(function () {
  "use strict";
  var root = document.getElementById("ss-root");
  var parentOrigin = root.dataset.origin;
  var instance = root.dataset.instance || "";
  var session = null, expiresAt = 0, view = root.dataset.view, query = root.dataset.query || "";
  var refreshTimer = 0, pollTimer = 0, lastHeight = 0, asked = false, opener = null, requests = 0;
  var embedded = window.parent !== window;
  var hosted = !!root.dataset.hosted, csrf = root.dataset.csrf || "";
  /* The locale the page asked for (embed: locale=, hosted: the negotiated one); the server ranks it first. */
  var locale = root.dataset.locale || "";
  var scriptNonce = (document.currentScript && document.currentScript.nonce) || "", stripeScript = null;

  function post(type, data) {
    if (embedded) window.parent.postMessage({ v: 1, id: instance, type: type, data: data || {} }, parentOrigin);
  }

  if (root.dataset.refused) { post("hello", { title: document.title }); post("error", { code: "origin_refused" }); return; }

  function show(templateId) {
    root.replaceChildren(document.getElementById(templateId).content.cloneNode(true));
  }

  function applyTheme(vars) {
    Object.keys(vars || {}).forEach(function (name) { document.documentElement.style.setProperty(name, vars[name]); });
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    var wait = Math.max(5000, expiresAt - Date.now() - 60000);
    refreshTimer = setTimeout(function () { post("token_request", { reason: "expiring" }); }, wait);
  }

  function exchange(token) {
    var headers = { "content-type": "application/json", "x-selfserve-locale": locale };
    if (session) headers.authorization = "Bearer " + session;
    return fetch("/embed/session", {
      method: "POST", headers: headers, credentials: "omit",
      body: JSON.stringify({ token: token, origin: parentOrigin })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.status === 403) { show("ss-refused"); post("error", { code: "origin_refused" }); return; }
        if (!response.ok) { expired(body.code || "token_invalid"); return; }
        asked = false;
        var first = !session;
        session = body.session; expiresAt = Date.parse(body.expires_at);
        applyTheme(body.theme); scheduleRefresh();
        if (first) load(body.views.indexOf(view) >= 0 ? view : body.views[0], true, query);
      });
    }, function () { post("error", { code: "network" }); });
  }

  /* Hosted page: the token or sign-in link in the fragment becomes a first-party cookie session. */
  function redeem(token) {
    var form = document.createElement("form"), input = document.createElement("input");
    form.method = "post"; form.action = location.pathname.replace(/\/+$/, "") + "/session";
    input.type = "hidden"; input.name = "token"; input.value = token;
    form.appendChild(input); document.body.appendChild(form); form.submit();
  }

  /* The session is gone: ask the host page for a fresh token once (the loader calls fetchToken, or emits
     "expired" when it has none); a fresh token that fails as well is an error. */
  function expired(code) {
    session = null; show("ss-expired");
    if (asked) post("error", { code: code });
    else { asked = true; post("token_request", { reason: code, ended: true }); }
  }

  /* fetch with the session: the hosted cookie and its CSRF token, or the embed's bearer. */
  function send(url, options) {
    options = options || {};
    options.credentials = hosted ? "same-origin" : "omit";
    options.headers = Object.assign(hosted ? { "x-csrf-token": csrf } : { authorization: "Bearer " + session },
      { "x-selfserve-locale": locale }, options.headers || {});
    return fetch(url, options).then(function (response) {
      if (response.status !== 401) return response;
      if (hosted) location.reload(); else expired("session_expired");
    });
  }

  /* A document link in a view is no credential: ask it for a single-use download link, then follow that. */
  function download(path) {
    return send(path, { method: "POST" }).then(function (response) {
      if (!response || !response.ok) return;
      return response.json().then(function (body) {
        var link = document.createElement("a");
        link.href = body.url; link.download = "";
        document.body.appendChild(link); link.click(); link.remove();
      });
    });
  }

  /* A data export being built: ask how far it is, less often the longer it takes (every 2 s, up to 15 s;
     not while the page is hidden); once it is done, show the view again with its download link. */
  function watchExport(wait) {
    clearTimeout(pollTimer);
    var box = root.querySelector("[data-export-status]");
    if (!box || !session) return;
    pollTimer = setTimeout(function () {
      if (document.hidden) { watchExport(wait); return; }
      send(box.dataset.exportStatus, {}).then(function (response) {
        if (!response || !response.ok || !root.contains(box)) return;
        return response.json().then(function (body) {
          if (body.status !== "pending" && body.status !== "running") {
            request("/embed/views/" + encodeURIComponent(view), {}, true);
            return;
          }
          box.querySelector("progress").value = body.progress;
          watchExport(Math.min(15000, wait * 1.5));
        });
      });
    }, wait);
  }

  /* Renders what the server answers. Only the latest request's answer is shown: one that arrives after a
     later request was sent describes the page as it was before that one (its events still reach the host). */
  function request(url, options, initial) {
    var mine = ++requests;
    root.setAttribute("aria-busy", "true");
    return send(url, options).then(function (response) {
      if (mine === requests) root.removeAttribute("aria-busy");
      if (!response) return;
      var events = JSON.parse(response.headers.get("x-selfserve-events") || "[]");
      return response.text().then(function (html) {
        if (mine !== requests) { events.forEach(function (e) { post(e.type, e.data); }); return; }
        root.innerHTML = html;
        speak(root.querySelector("[data-lang]"));
        mountStripeCard();
        var tab = root.querySelector(".ss-nav [aria-current]");
        if (tab) tab.parentNode.scrollLeft = tab.offsetLeft - (tab.parentNode.clientWidth - tab.offsetWidth) / 2;
        measure();
        watchExport(2000);
        events.forEach(function (e) { post(e.type, e.data); });
        if (initial) return;
        /* Focus goes to news first, else to an open flow's heading, else back to the control that opened
           the flow just closed, else to the view's heading. */
        var live = root.querySelector(".ss-msg"), flow = root.querySelector(".ss-flow");
        var back = !flow && opener && root.querySelector('[data-query="' + CSS.escape(opener) + '"]');
        if (!flow) opener = null;
        var target = live ? live.closest(".ss-live") : flow ? flow.querySelector("h2, h3") : back || root.querySelector("h1");
        if (target && !back) target.tabIndex = -1;
        if (target) target.focus({ preventScroll: !flow });
      });
    });
  }

  /* A view says which language it speaks (the customer's stored locale may decide it): the page and the
     host's iframe title follow. */
  function speak(marker) {
    if (!marker) return;
    document.documentElement.lang = marker.dataset.lang;
    document.documentElement.dir = marker.dataset.dir;
    if (!hosted && document.title !== marker.dataset.title) {
      document.title = marker.dataset.title;
      post("title", { title: document.title });
    }
  }

  function load(next, initial, params) {
    view = next;
    var url = "/embed/views/" + encodeURIComponent(next) + (params ? "?" + params : "");
    return request(url, {}, initial).then(function () {
      post(initial ? "ready" : "navigate", { view: next });
    });
  }

  root.addEventListener("click", function (event) {
    var copy = event.target.closest("[data-copy]");
    if (copy && navigator.clipboard) { navigator.clipboard.writeText(copy.dataset.copy); copy.textContent = "✓"; return; }
    var doc = event.target.closest("a[data-document]");
    if (doc && session) { event.preventDefault(); download(doc.getAttribute("href")); return; }
    var link = event.target.closest("a[data-view]");
    if (link && session) {
      event.preventDefault();
      if (link.dataset.query) opener = link.dataset.query;
      load(link.dataset.view, false, link.dataset.query);
    }
  });

  /* A merchant on Stripe: the card form is Stripe.js's (its Element), loaded once with this page's nonce.
     The number goes from here to Stripe; selfserve only gets the id of the SetupIntent it confirmed. */
  function loadStripe(src) {
    if (!stripeScript) {
      stripeScript = new Promise(function (resolve, reject) {
        var script = document.createElement("script");
        script.src = src; script.nonce = scriptNonce;
        script.onload = resolve; script.onerror = reject;
        document.head.appendChild(script);
      });
    }
    return stripeScript;
  }

  function mountStripeCard() {
    var form = root.querySelector("form[data-stripe-card]");
    if (!form) return;
    loadStripe(form.dataset.stripeJs).then(function () {
      var stripe = window.Stripe(form.dataset.stripeKey), card = stripe.elements().create("card");
      card.mount(form.querySelector("[data-stripe-element]"));
      form.stripe = stripe; form.card = card;
      measure();
    }, function () { stripeError(form, form.dataset.stripeUnavailable); });
  }

  function stripeError(form, message) {
    var box = form.querySelector("[data-stripe-error]");
    box.textContent = message; box.hidden = false; measure();
  }

  function saveStripeCard(form) {
    if (!form.stripe) return;
    form.querySelector("[data-stripe-error]").hidden = true;
    root.setAttribute("aria-busy", "true");
    send("/embed/card-setup", { method: "POST" }).then(function (response) {
      if (!response || !response.ok) throw new Error("card setup refused");
      return response.json();
    }).then(function (body) {
      return form.stripe.confirmCardSetup(body.client_secret, { payment_method: { card: form.card } });
    }).then(function (result) {
      root.removeAttribute("aria-busy");
      if (result.error) { stripeError(form, result.error.message); return; }
      form.elements.setup_intent.value = result.setupIntent.id;
      request("/embed/views/" + encodeURIComponent(view) + "/" + encodeURIComponent(form.dataset.action), {
        method: "POST", body: new URLSearchParams(new FormData(form))
      });
    }).catch(function () {
      root.removeAttribute("aria-busy");
      stripeError(form, form.dataset.stripeUnavailable);
    });
  }

  /* A payment the bank asks the customer to authenticate (3-D Secure): Stripe.js runs the challenge here,
     then the action asks our server, which reads the outcome from Stripe (never from this page). */
  function confirmStripePayment(form) {
    form.querySelector("[data-stripe-error]").hidden = true;
    root.setAttribute("aria-busy", "true");
    var act = function () {
      return request("/embed/views/" + encodeURIComponent(view) + "/" + encodeURIComponent(form.dataset.action), {
        method: "POST", body: new URLSearchParams(new FormData(form))
      });
    };
    Promise.all([loadStripe(form.dataset.stripeJs), send(form.dataset.confirmation, { method: "POST" })]).then(function (done) {
      var response = done[1];
      if (!response) return null;
      if (!response.ok) return act();
      return response.json().then(function (body) {
        return window.Stripe(form.dataset.stripeKey).confirmCardPayment(body.client_secret);
      }).then(act);
    }).catch(function () {
      root.removeAttribute("aria-busy");
      stripeError(form, form.dataset.stripeUnavailable);
    });
  }

  root.addEventListener("submit", function (event) {
    var stripeForm = event.target.closest("form[data-stripe-card]");
    if (stripeForm && session) { event.preventDefault(); saveStripeCard(stripeForm); return; }
    var confirmForm = event.target.closest("form[data-stripe-confirm]");
    if (confirmForm && session) { event.preventDefault(); confirmStripePayment(confirmForm); return; }
    var step = event.target.closest("form[data-step]");
    if (step && session) {
      event.preventDefault();
      load(view, false, new URLSearchParams(new FormData(step)).toString());
      return;
    }
    var form = event.target.closest("form[data-action]");
    if (!form || !session) return;
    event.preventDefault();
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) return;
    request("/embed/views/" + encodeURIComponent(view) + "/" + encodeURIComponent(form.dataset.action), {
      method: "POST", body: new URLSearchParams(new FormData(form))
    });
  });

  /* Escape closes an open flow (focus returns to what opened it); with none open it asks the host to close. */
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    if (root.querySelector(".ss-flow") && session) load(view, false);
    else post("close", {});
  });

  window.addEventListener("message", function (event) {
    var m = event.data;
    if (event.origin !== parentOrigin || event.source !== window.parent || !m || m.v !== 1 || m.id !== instance) return;
    if (m.type === "init" || m.type === "token") {
      if (m.data.view) view = m.data.view;
      if (m.data.action) query = new URLSearchParams({ action: m.data.action, subscription_id: m.data.subscription_id || "" }).toString();
      if (m.data.token) exchange(m.data.token);
      else if (m.type === "init") expired("no_token");
    } else if (m.type === "navigate" && session) load(m.data.view, false);
    else if (m.type === "update") {
      if (/^(auto|light|dark)$/.test(m.data.theme)) document.documentElement.dataset.theme = m.data.theme;
      if (typeof m.data.locale === "string" && m.data.locale !== locale) { locale = m.data.locale; if (session) load(view, false); }
    }
  });

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) post("token_request", { reason: "restored" });
  });

  /* Called after every render too: Chromium skips ResizeObserver in a cross-origin frame scrolled out of view. */
  function measure() {
    var height = Math.ceil(document.body.getBoundingClientRect().height);
    if (height !== lastHeight) { lastHeight = height; post("resize", { height: height }); }
  }
  if (window.ResizeObserver) new ResizeObserver(measure).observe(document.body);

  var fragmentToken = /[#&]token=([^&]+)/.exec(location.hash);
  if (fragmentToken) {
    history.replaceState(null, "", location.pathname + location.search);
    (hosted ? redeem : exchange)(decodeURIComponent(fragmentToken[1]));
  } else if (hosted) {
    if (csrf) { session = "cookie"; load(view, true, query); }
  } else {
    post("hello", { title: root.dataset.title });
  }
})();
