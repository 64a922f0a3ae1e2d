// Small progressive enhancements: prompt character count, "use as reference",
// drag-and-drop upload and hover previews. Everything works without it.
(function () {
  "use strict";

  document.addEventListener("input", function (event) {
    var el = event.target;
    if (el.tagName !== "TEXTAREA") return;
    var counter = document.querySelector('.char-count[data-for="' + el.id + '"] .count');
    if (counter) counter.textContent = el.value.length;
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest(".use-asset");
    if (!button) return;
    var select = document.querySelector('#generate-form select[name="reference"]');
    if (select) {
      select.value = button.dataset.asset;
      select.dispatchEvent(new Event("change", { bubbles: true }));
      select.scrollIntoView({ behavior: "smooth", block: "center" });
    }
  });

  function zone(event) { return event.target.closest && event.target.closest(".dropzone"); }
  document.addEventListener("dragover", function (event) {
    var z = zone(event);
    if (!z) return;
    event.preventDefault();
    z.classList.add("dragging");
  });
  document.addEventListener("dragleave", function (event) {
    var z = zone(event);
    if (z) z.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var z = zone(event);
    if (!z) return;
    event.preventDefault();
    z.classList.remove("dragging");
    var input = z.querySelector('input[type="file"]');
    if (!input || !event.dataTransfer.files.length) return;
    input.files = event.dataTransfer.files;
    z.requestSubmit();
  });
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "file" && input.closest(".dropzone") && input.files.length) {
      input.closest(".dropzone").requestSubmit();
    }
  });

  // Offer only what the chosen model can make (the server checks again).
  function applyModel(select) {
    var option = select.selectedOptions[0];
    var form = select.form;
    if (!option || !form) return;
    var resolutions = option.dataset.resolutions.split(",");
    // data-plan-off marks what the creator's plan does not include: it stays off.
    Array.prototype.forEach.call(form.elements.resolution.options, function (o) {
      o.disabled = resolutions.indexOf(o.value) < 0 || o.hasAttribute("data-plan-off");
    });
    if (form.elements.resolution.selectedOptions[0].disabled) {
      var usable = Array.prototype.filter.call(form.elements.resolution.options, function (o) {
        return !o.disabled;
      });
      if (usable.length) form.elements.resolution.value = usable[usable.length - 1].value;
    }
    // The server puts the plan's longest clip on the field (data-plan-max): no copy here.
    var seconds = form.elements.seconds;
    seconds.max = Math.min(+option.dataset.maxSeconds, +seconds.dataset.planMax);
    if (+seconds.value > +seconds.max) seconds.value = seconds.max;
    // A model that makes only some lengths (e.g. 4, 8, 12 s) gets the nearest one it makes.
    var lengths = option.dataset.seconds ? option.dataset.seconds.split(",").map(Number) : [];
    seconds.min = lengths.length ? lengths[0] : 1;
    if (lengths.length && lengths.indexOf(+seconds.value) < 0) {
      seconds.value = lengths.reduce(function (best, s) {
        return Math.abs(s - seconds.value) < Math.abs(best - seconds.value) ? s : best;
      });
    }
    Array.prototype.forEach.call(form.elements.variations.options, function (o) {
      o.disabled = +o.value > +option.dataset.maxVariations || o.hasAttribute("data-plan-off");
    });
    if (form.elements.variations.selectedOptions[0].disabled) form.elements.variations.value = "1";
  }
  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("model-picker")) applyModel(event.target);
  });
  function applyAll() {
    document.querySelectorAll(".model-picker").forEach(applyModel);
  }
  document.addEventListener("DOMContentLoaded", applyAll);
  document.addEventListener("htmx:afterSettle", applyAll);

  document.addEventListener("mouseover", function (event) {
    var video = event.target.closest && event.target.closest(".tile") && event.target.closest(".tile").querySelector("video.hover-preview");
    if (!video) return;
    if (!video.src) video.src = video.dataset.src;
    video.play().catch(function () {});
  });
  document.addEventListener("mouseout", function (event) {
    var tile = event.target.closest && event.target.closest(".tile");
    if (!tile || tile.contains(event.relatedTarget)) return;
    var video = tile.querySelector("video.hover-preview");
    if (video) video.pause();
  });
})();

// The composer's cost estimate before Generate ("≈ $0.80 for 2 × 8 s"), from the model's
// price (the #model-prices table the server renders), the same sum the server records.
(function () {
  "use strict";
  var symbols = { USD: "$", EUR: "€", GBP: "£" };

  function update() {
    var table = document.getElementById("model-prices");
    var out = document.getElementById("cost-estimate");
    if (!table || !out) return;
    var form = out.closest("form");
    var prices = JSON.parse(table.textContent || "{}");
    var price = prices[form.elements.provider && form.elements.provider.value];
    var seconds = parseInt(form.elements.seconds && form.elements.seconds.value, 10);
    var variations = parseInt((form.elements.variations && form.elements.variations.value) || "1", 10);
    if (!price || !(seconds > 0) || !(variations > 0)) { out.textContent = ""; return; }
    var amount = parseFloat(price.amount);
    var total = price.unit === "second" ? amount * seconds * variations
      : price.unit === "video" ? amount * variations : amount;
    var cents = (Math.round(total * 10000) / 10000).toFixed(2);
    var money = symbols[price.currency] ? symbols[price.currency] + cents : cents + " " + price.currency;
    out.textContent = "≈ " + money + " for " + (variations > 1 ? variations + " × " : "") + seconds + " s";
  }

  document.addEventListener("change", update);
  document.addEventListener("input", update);
  document.addEventListener("DOMContentLoaded", update);
  document.addEventListener("htmx:afterSettle", update);
})();

// The mute toggle: sound off or on for every video the button's data-target selects.
document.addEventListener("click", (event) => {
  const button = event.target.closest(".mute-toggle");
  if (!button) return;
  const muted = button.getAttribute("aria-pressed") !== "true";
  for (const video of document.querySelectorAll(button.dataset.target)) video.muted = muted;
  button.setAttribute("aria-pressed", String(muted));
  button.textContent = muted ? "Unmute" : "Mute";
});
