// The browser side of stgo_rating.Rating: a radio group of stars.
// stgo imports this module and calls mount(element, context).
export function mount(element, context) {
  var stars = context.props.stars || 5;
  var group = document.createElement("div");
  group.className = "stgo-rating";
  group.setAttribute("role", "radiogroup");
  group.setAttribute("aria-label", context.label);
  var buttons = [];
  for (var i = 1; i <= stars; i++) {
    var star = document.createElement("button");
    star.type = "button";
    star.className = "stgo-rating-star";
    star.setAttribute("role", "radio");
    star.setAttribute("aria-label", i + (i === 1 ? " star" : " stars"));
    star.setAttribute("aria-checked", String(i === context.value));
    star.dataset.stars = String(i);
    star.textContent = "\u2605";
    star.disabled = context.disabled;
    if (i <= (context.value || 0)) star.classList.add("stgo-rating-lit");
    // One tab stop for the group: the checked star (or the first).
    star.tabIndex = i === (context.value || 1) ? 0 : -1;
    buttons.push(star);
    group.appendChild(star);
  }

  function pick(n) { context.send("change", n); }

  group.addEventListener("click", function (ev) {
    var star = ev.target.closest(".stgo-rating-star");
    if (star && !star.disabled) pick(Number(star.dataset.stars));
  });
  group.addEventListener("keydown", function (ev) {
    var at = buttons.indexOf(document.activeElement);
    if (at < 0) return;
    var to = ev.key === "ArrowRight" || ev.key === "ArrowUp" ? at + 1
      : ev.key === "ArrowLeft" || ev.key === "ArrowDown" ? at - 1 : null;
    if (to === null || to < 0 || to >= buttons.length) return;
    ev.preventDefault();
    buttons[to].focus();
    pick(to + 1);
  });

  var caption = document.createElement("span");
  caption.className = "stgo-rating-caption";
  caption.textContent = context.label;
  element.appendChild(caption);
  element.appendChild(group);
  return { destroy: function () { element.textContent = ""; } };
}
