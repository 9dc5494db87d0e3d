// Figure pages: a filter box over each entity list and table, and a button that copies the gene symbols. The
// page shows everything without JavaScript; this only narrows and copies.
"use strict";
document.documentElement.classList.add("js");

(function () {
  for (const section of document.querySelectorAll("section.entities")) {
    const input = section.querySelector("input.filter");
    const status = section.querySelector(".status");
    const items = [...section.querySelectorAll(".symbols li, tbody[data-terms]")];
    const chips = section.querySelectorAll(".symbols li");
    if (input) {
      input.addEventListener("input", () => {
        const wanted = input.value.trim().toLowerCase();
        for (const item of items) item.hidden = wanted !== "" && !item.dataset.terms.includes(wanted);
        const shown = [...chips].filter((c) => !c.hidden).length;
        status.textContent = wanted ? `${shown} of ${chips.length} shown` : "";
        // a match in the table is only seen when the table is open
        const details = section.querySelector("details");
        if (wanted && details && shown > 0 && shown <= 25) details.open = true;
      });
    }
    const button = section.querySelector("button.copy");
    if (button) {
      button.addEventListener("click", async () => {
        const list = document.getElementById(button.dataset.copy);
        const symbols = [...list.querySelectorAll("li:not([hidden]) a")].map((a) => a.textContent.trim());
        const text = symbols.join("\n") + "\n";
        try {
          await navigator.clipboard.writeText(text);
        } catch (err) {
          // the asynchronous clipboard needs a secure context (https or this machine); a selection works anywhere
          const area = document.createElement("textarea");
          area.value = text;
          area.setAttribute("aria-hidden", "true");
          area.style.position = "fixed";
          area.style.left = "-9999px";
          document.body.appendChild(area);
          area.select();
          document.execCommand("copy");
          area.remove();
        }
        status.textContent = `Copied ${symbols.length} symbol${symbols.length === 1 ? "" : "s"}`;
      });
    }
  }
})();
