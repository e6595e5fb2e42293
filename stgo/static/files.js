// stgo file adapter: uploads with a progress bar, and downloads.
// Loaded by the client (adapters.js) only on pages with a file widget (data-requires).
// Bytes go over HTTP, never the WebSocket: see stgo/web/transfers.py.
(function () {
  "use strict";

  var stgo = window.stgo;
  if (!stgo || stgo.filesReady) return;
  stgo.filesReady = true;

  function widgetOf(el) { return el.closest(".stgo-w"); }

  function sizeText(n) {
    var units = ["bytes", "KB", "MB", "GB"], i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i += 1; }
    return i === 0 ? n + " bytes" : n.toFixed(1) + " " + units[i];
  }

  function status(w, text, bad) {
    var el = w.querySelector(".stgo-upload-status");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("stgo-upload-refused", !!bad);
  }

  function errorText(xhr) {
    try { return JSON.parse(xhr.responseText).error || xhr.statusText; } catch (e) {
      return xhr.status ? "upload refused (" + xhr.status + ")" : "the upload failed: network error";
    }
  }

  // The same checks the server makes, before a byte is sent: a clear answer at once.
  function precheck(input, file) {
    var max = Number(input.getAttribute("data-max-size") || 0);
    if (max && file.size > max) {
      return file.name + " is too large (" + sizeText(file.size) + "): files up to " + sizeText(max);
    }
    var accept = input.getAttribute("accept");
    if (accept) {
      var dot = file.name.lastIndexOf("."), ext = dot >= 0 ? file.name.slice(dot).toLowerCase() : "";
      if (accept.split(",").indexOf(ext) < 0) {
        return file.name + " is not an accepted type: " + accept.split(",").join(", ");
      }
    }
    return null;
  }

  function uploadOne(w, file, done, progress) {
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "upload?widget=" + encodeURIComponent(w.id));
    xhr.setRequestHeader("X-Stgo-Filename", encodeURIComponent(file.name));
    if (file.type) xhr.setRequestHeader("Content-Type", file.type);
    xhr.upload.onprogress = function (ev) { if (ev.lengthComputable) progress(ev.loaded); };
    xhr.onload = function () {
      if (xhr.status === 201) {
        var answer;
        try { answer = JSON.parse(xhr.responseText); } catch (e) { done("bad answer from the server"); return; }
        done(null, answer.token);
      } else {
        done(errorText(xhr));
      }
    };
    xhr.onerror = function () { done(errorText(xhr)); };
    xhr.send(file);
  }

  function upload(input) {
    var w = widgetOf(input);
    var files = Array.prototype.slice.call(input.files || []);
    if (!w || !files.length) return;
    for (var i = 0; i < files.length; i++) {
      var why = precheck(input, files[i]);
      if (why) { status(w, why, true); stgo.alert(why, "error"); input.value = ""; return; }
    }
    var bar = w.querySelector(".stgo-upload-progress");
    var total = files.reduce(function (n, f) { return n + f.size; }, 0) || 1;
    var sent = 0, tokens = [];
    if (bar) { bar.hidden = false; bar.value = 0; }
    input.disabled = true;
    status(w, stgo.say ? stgo.say("uploading", "Uploading\u2026") : "Uploading\u2026", false);
    function finish(error) {
      input.disabled = false;
      input.value = "";
      if (bar) bar.hidden = true;
      if (error) { status(w, error, true); stgo.alert(error, "error"); return; }
      status(w, "", false);
      stgo.send(w.id, "change", tokens);
    }
    (function next(k) {
      if (k === files.length) { finish(null); return; }
      uploadOne(w, files[k], function (error, token) {
        if (error) { finish(error); return; }
        tokens.push(token);
        sent += files[k].size;
        next(k + 1);
      }, function (loaded) {
        if (bar) bar.value = Math.round((sent + loaded) / total * 100);
      });
    })(0);
  }

  function download(button) {
    var w = widgetOf(button);
    if (!w) return;
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "download?widget=" + encodeURIComponent(w.id));
    xhr.onload = function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (e) { /* shown below */ }
      if (xhr.status !== 201 || !answer || !answer.url) {
        stgo.alert((answer && answer.error) || "the download failed", "error");
        return;
      }
      var a = document.createElement("a");
      a.href = answer.url;
      a.download = "";
      a.hidden = true;
      document.body.appendChild(a);
      a.click();
      a.remove();
    };
    xhr.onerror = function () { stgo.alert("the download failed: network error", "error"); };
    xhr.send();
  }

  // For camera.js: one file (a Blob made a File) through the same upload path.
  stgo.uploadFile = uploadOne;
  stgo.uploadStatus = status;

  document.addEventListener("change", function (ev) {
    var el = ev.target;
    if (el.matches && el.matches("input[type=file][data-upload]")) upload(el);
  });

  document.addEventListener("click", function (ev) {
    var clear = ev.target.closest("[data-upload-clear]");
    if (clear && !clear.disabled) {
      var w = widgetOf(clear);
      if (w) stgo.send(w.id, "change", null);
      return;
    }
    var button = ev.target.closest("[data-download]");
    if (button && !button.disabled) download(button);
  });
})();
