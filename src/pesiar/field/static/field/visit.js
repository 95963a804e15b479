// "Use my location": fills latitude and longitude from the phone's position (optional).
(function () {
  var button = document.querySelector("[data-locate]");
  if (!button || !navigator.geolocation) return;
  var status = document.querySelector("[data-locate-status]");
  button.hidden = false;
  button.addEventListener("click", function () {
    status.textContent = button.dataset.waiting || "…";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_latitude").value = pos.coords.latitude.toFixed(6);
      document.getElementById("id_longitude").value = pos.coords.longitude.toFixed(6);
      status.textContent = "± " + Math.round(pos.coords.accuracy) + " m";
    }, function (err) {
      status.textContent = err.message;
    }, { enableHighAccuracy: true, timeout: 20000, maximumAge: 60000 });
  });
})();
