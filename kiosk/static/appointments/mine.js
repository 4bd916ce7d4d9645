// This phone's own tickets and bookings of today, remembered (localStorage) by the pages
// that show them, so the door's check-in page (/door/CODE, opened by scanning the code at
// the hall's door with the camera) knows which ones to check in. Nothing leaves the phone
// but the keys the citizen already holds in the pages' addresses.
(function () {
  "use strict";
  var NAME = "qrate.mine";

  function read() {
    try { return JSON.parse(window.localStorage.getItem(NAME) || "[]") || []; } catch (e) { return []; }
  }
  function write(list) {
    try { window.localStorage.setItem(NAME, JSON.stringify(list.slice(-10))); } catch (e) { /* private mode */ }
  }
  window.QrateMine = {
    // kind: "ticket" (a phone ticket's /t/KEY) or "booking" (/book/b/KEY); day: YYYY-MM-DD
    remember: function (kind, key, day) {
      if (!key) return;
      var list = read().filter(function (m) { return m.key !== key && m.day >= day; });
      list.push({kind: kind, key: key, day: day});
      write(list);
    },
    forget: function (key) { write(read().filter(function (m) { return m.key !== key; })); },
    of: function (day) { return read().filter(function (m) { return m.day === day; }); },
  };
})();
