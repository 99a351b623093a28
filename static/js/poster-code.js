// A checkpoint poster's code as typed, scanned or read from a tag, forgiven like the server does (grids.normalise_qr):
// case, spaces, dashes, PAVI for PAV1, and 0/1/8 for O/I/B (the code's alphabet, base32, has none of those).
// One copy for the patrol screen (offline-patrol.js) and the offline poster page (scan-shell.js).
(function () {
  "use strict";
  function normalise(text) {
    var m = String(text || "").toUpperCase().replace(/\s+/g, "").match(/PAV[1I]-*(\d+)-*([A-Z0-9]{10})(?![A-Z0-9])/);
    if (!m) return null;
    var code = "PAV1-" + m[1] + "-" + m[2].replace(/0/g, "O").replace(/1/g, "I").replace(/8/g, "B");
    return /^PAV1-\d+-[A-Z2-7]{10}$/.test(code) ? code : null;
  }
  // The checkpoint id the code names (its middle part), or null.
  function checkpointId(code) {
    var m = /^PAV1-(\d+)-/.exec(code || "");
    return m ? Number(m[1]) : null;
  }
  window.PosterCode = { normalise: normalise, checkpointId: checkpointId };
})();
