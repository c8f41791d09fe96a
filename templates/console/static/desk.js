// Refreshes the open alerts every 10 seconds without a full reload (a few hundred bytes a time).
(function () {
  var table = document.getElementById("alerts");
  if (!table) return;
  var body = table.tBodies[0];
  setInterval(function () {
    fetch(table.dataset.rows, {credentials: "same-origin"}).then(function (response) {
      if (response.status === 401) { location.reload(); return null; }
      return response.ok ? response.text() : null;
    }).then(function (html) { if (html !== null) body.innerHTML = html; }).catch(function () {});
  }, 10000);
})();
