/* qrate's page helpers, shared by every page (loaded by base.html).
 *
 * window.QRATE comes from base.html: {lang, tz, hall, T, ...page settings}.
 * T holds the page's translated strings straight from the gettext catalog, so a
 * placeholder is written as in Python: "%(n)s waiting", and "%%" is a percent sign.
 *
 * - Qrate.fmt(text, params): fill in %(name)s placeholders.
 * - Qrate.api(path, {method, body, token}): JSON fetch; an error rejects with the
 *   server's message in the page's language (the body is {"error": {"code",
 *   "message", "message_en"}}); 204 resolves to null.
 * - figures: a figure with no data is null and shows as "—", never as 0 or 100;
 *   rounding happens here, at display time only.
 * - times: in the hall's time zone, whatever the PC showing the page is set to.
 */
(function () {
  "use strict";
  var Q = window.QRATE = window.QRATE || {};
  Q.T = Q.T || {};
  var DASH = "—";
  var EN = Q.lang === "en";

  function isNull(x) { return x === null || x === undefined || (typeof x === "number" && isNaN(x)); }

  /* "%(n)s ahead of you" + {n: 3} -> "3 ahead of you"; "%%" -> "%". */
  function fmt(text, params) {
    params = params || {};
    return String(text === null || text === undefined ? "" : text).replace(/%\((\w+)\)s|%%/g, function (m, k) {
      if (!k) return "%";
      return k in params ? String(params[k]) : m;
    });
  }

  /* A page string by its key, filled in. */
  function t(key, params) { return fmt(key in Q.T ? Q.T[key] : key, params); }

  function esc(text) {
    return String(isNull(text) ? "" : text).replace(/[&<>"']/g, function (c) {
      return {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}[c];
    });
  }

  /* --- the device token ---------------------------------------------------------
   * A device page (kiosk, lobby screen...) is opened once as ?token=...; it keeps the
   * token in localStorage and takes it out of the address bar. Pages signed in with a
   * password ride on the session cookie instead and have no token. */
  var TOKEN_KEY = "qrate.device.token";
  function deviceToken(key) {
    key = key || TOKEN_KEY;
    var url, token = null;
    try { url = new URL(location.href); token = url.searchParams.get("token"); } catch (e) { url = null; }
    if (token) {
      var kept = false;
      try { localStorage.setItem(key, token); kept = true; } catch (e) { /* storage off: the URL must carry it */ }
      if (kept && url && history.replaceState) {
        url.searchParams.delete("token");
        history.replaceState(null, "", url.pathname + url.search + url.hash);
      }
      return token;
    }
    try { return localStorage.getItem(key); } catch (e) { return null; }
  }

  /* --- JSON over fetch -------------------------------------------------------- */
  function errorText(body, fallback) {
    var e = body && body.error;
    if (!e) return fallback || "";
    return (EN ? e.message_en : e.message) || e.message || e.message_en || fallback || "";
  }

  function api(path, opts) {
    opts = opts || {};
    // the API's words (reason tags, messages) in the page's language, not the browser's
    var headers = {Accept: "application/json", "Accept-Language": EN ? "en" : "zh-CN"};
    var token = opts.token === undefined ? Qrate.token : opts.token;
    if (token) headers.Authorization = "Bearer " + token;
    var init = {method: opts.method || "GET", credentials: "same-origin", cache: "no-store", headers: headers};
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    return fetch(path, init).then(function (r) {
      if (r.status === 204) return null;
      return r.json().catch(function () { return null; }).then(function (body) {
        if (r.ok) return body;
        var err = new Error(errorText(body, r.statusText || String(r.status)));
        err.status = r.status;
        err.code = body && body.error ? body.error.code : null;
        err.body = body;
        throw err;
      });
    });
  }

  /* --- figures ---------------------------------------------------------------- */
  function num(x, digits) { return isNull(x) ? DASH : Number(x).toFixed(digits || 0); }
  function pct(x, digits) { return isNull(x) ? DASH : (100 * x).toFixed(digits === undefined ? 1 : digits) + "%"; }
  /* a duration in seconds as minutes ("12.5"), or as hours */
  function minutes(s, digits) { return isNull(s) ? DASH : (s / 60).toFixed(digits === undefined ? 1 : digits); }
  function hours(s, digits) { return isNull(s) ? DASH : (s / 3600).toFixed(digits === undefined ? 1 : digits); }
  /* whole minutes of a wait, for "about %(n)s min": null stays null */
  function wholeMinutes(s) { return isNull(s) ? null : Math.round(s / 60); }

  /* --- times in the hall's zone ----------------------------------------------- */
  var partsCache = {};
  function parts(when, tz) {
    var d = when instanceof Date ? when : new Date(when);
    if (isNaN(d.getTime())) return null;
    tz = tz || Q.tz;
    var f = partsCache[tz];
    try {
      if (!f) {
        f = partsCache[tz] = new Intl.DateTimeFormat("en-GB", {timeZone: tz, hourCycle: "h23", year: "numeric",
          month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit"});
      }
      var out = {};
      f.formatToParts(d).forEach(function (p) { out[p.type] = p.value; });
      if (out.hour === "24") out.hour = "00";
      return out;
    } catch (e) {  // no such zone in this browser: the PC's own clock
      var two = function (x) { return (x < 10 ? "0" : "") + x; };
      return {year: String(d.getFullYear()), month: two(d.getMonth() + 1), day: two(d.getDate()),
              hour: two(d.getHours()), minute: two(d.getMinutes()), second: two(d.getSeconds())};
    }
  }
  /* "14:05" */
  function time(when, tz) { var p = isNull(when) || when === "" ? null : parts(when, tz); return p ? p.hour + ":" + p.minute : DASH; }
  /* "03-18 14:05" */
  function dateTime(when, tz) {
    var p = isNull(when) || when === "" ? null : parts(when, tz);
    return p ? p.month + "-" + p.day + " " + p.hour + ":" + p.minute : DASH;
  }
  /* "2026-03-18", the hall's day */
  function day(when, tz) { var p = parts(when || new Date(), tz); return p ? p.year + "-" + p.month + "-" + p.day : ""; }
  /* an ISO day moved by n days: "2026-03-01", -1 -> "2026-02-28" */
  function shiftDay(iso, n) {
    var d = new Date(iso + "T12:00:00Z");
    d.setUTCDate(d.getUTCDate() + n);
    return d.toISOString().slice(0, 10);
  }
  /* a clock element showing the hall's time */
  function clock(el, tz) {
    function tick() { el.textContent = time(new Date(), tz); }
    tick();
    return setInterval(tick, 5000);
  }

  var Qrate = {
    DASH: DASH, en: EN, config: Q, isNull: isNull, fmt: fmt, t: t, esc: esc,
    deviceToken: deviceToken, token: null, api: api, errorText: errorText,
    num: num, pct: pct, minutes: minutes, hours: hours, wholeMinutes: wholeMinutes,
    time: time, dateTime: dateTime, day: day, shiftDay: shiftDay, clock: clock,
  };
  window.Qrate = Qrate;
})();
