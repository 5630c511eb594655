// "Use my location": fills latitude/longitude from the phone's position (optional).
(function () {
  var button = document.getElementById("use-location");
  if (!button || !navigator.geolocation) { if (button) { button.hidden = true; } return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var status = document.getElementById("location-status");
    status.textContent = "Finding your position...";
    navigator.geolocation.getCurrentPosition(function (pos) {
      document.getElementById("id_latitude").value = pos.coords.latitude.toFixed(3);
      document.getElementById("id_longitude").value = pos.coords.longitude.toFixed(3);
      status.textContent = "Position filled in.";
    }, function () { status.textContent = "Position not available; you can leave it blank."; });
  });
})();
