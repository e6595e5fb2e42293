// stgo camera adapter: the camera_input widget.  "Start camera" asks for the
// camera (getUserMedia) and shows its picture; "Take photo" draws a still on
// a canvas and uploads it as PNG through the uploads' path (files.js, loaded
// first), then sends the token in the widget's change event, as an uploader
// does.  The camera is stopped once the photo is taken.
(function () {
  "use strict";

  var stgo = window.stgo;
  if (!stgo || !stgo.uploadFile || stgo.cameraReady) return;
  stgo.cameraReady = true;

  var streams = {};   // widget id -> MediaStream while its camera runs

  function stop(id) {
    var stream = streams[id];
    delete streams[id];
    if (stream) stream.getTracks().forEach(function (t) { t.stop(); });
  }

  function start(w, button) {
    var video = w.querySelector(".stgo-camera-preview");
    var shoot = w.querySelector("[data-camera-shoot]");
    if (!video || !navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      stgo.uploadStatus(w, "this browser gives no camera (it needs https or localhost)", true);
      return;
    }
    button.disabled = true;
    stgo.uploadStatus(w, "Starting the camera\u2026", false);
    navigator.mediaDevices.getUserMedia({ video: true, audio: false }).then(function (stream) {
      stop(w.id);
      streams[w.id] = stream;
      video.srcObject = stream;
      video.hidden = false;
      return video.play();
    }).then(function () {
      button.hidden = true;
      button.disabled = false;
      if (shoot) { shoot.hidden = false; shoot.focus(); }
      stgo.uploadStatus(w, "", false);
    }).catch(function (err) {
      button.disabled = false;
      stop(w.id);
      stgo.uploadStatus(w, "no camera: " + (err && err.message ? err.message : err), true);
    });
  }

  function shoot(w, button) {
    var video = w.querySelector(".stgo-camera-preview");
    var max = Number((w.querySelector("[data-camera-start]") || button)
      .getAttribute("data-max-size") || 0);
    if (!video || !video.videoWidth) { stgo.uploadStatus(w, "the camera is not ready", true); return; }
    var canvas = document.createElement("canvas");
    canvas.width = video.videoWidth;
    canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0, canvas.width, canvas.height);
    button.disabled = true;
    canvas.toBlob(function (blob) {
      stop(w.id);
      if (!blob) { button.disabled = false; stgo.uploadStatus(w, "could not take the photo", true); return; }
      if (max && blob.size > max) {
        button.disabled = false;
        stgo.uploadStatus(w, "the photo is too large for this camera input", true);
        return;
      }
      var file = new File([blob], "camera.png", { type: "image/png" });
      stgo.uploadStatus(w, "Uploading\u2026", false);
      stgo.uploadFile(w, file, function (error, token) {
        button.disabled = false;
        if (error) { stgo.uploadStatus(w, error, true); stgo.alert(error, "error"); return; }
        stgo.uploadStatus(w, "", false);
        stgo.send(w.id, "change", [token]);
      }, function () {});
    }, "image/png");
  }

  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-camera-start], [data-camera-shoot]");
    if (!button || button.disabled) return;
    var w = button.closest(".stgo-w");
    if (!w) return;
    if (button.hasAttribute("data-camera-start")) start(w, button);
    else shoot(w, button);
  });

  // A redraw (the photo arrived) or a page change drops the preview: free the camera.
  document.addEventListener("stgo:message", function () {
    Object.keys(streams).forEach(function (id) {
      var w = document.getElementById(id);
      var video = w && w.querySelector(".stgo-camera-preview");
      if (!video || video.srcObject !== streams[id]) stop(id);
    });
  });
})();
