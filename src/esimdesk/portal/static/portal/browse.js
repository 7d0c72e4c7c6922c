// Destination search as a combobox (WAI-ARIA 1.2 list autocomplete): suggestions while one
// types, from the portal's suggest endpoint, chosen with the mouse or with up / down /
// enter / escape. Without JavaScript the form is a plain GET search. Also the in-page
// filter of the A-Z list of destinations.
(function () {
  "use strict";

  function normalize(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/[^\p{L}\p{N}]/gu, "");
  }

  function combobox(form) {
    var input = form.querySelector("input[type=search]");
    var list = form.querySelector("[role=listbox]");
    var status = form.querySelector("[role=status]");
    var globe = document.getElementById("dest-globe");
    var url = form.getAttribute("data-suggest");
    var options = [];
    var active = -1;
    var timer = null;
    var asked = "";

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", list.id);

    function close() {
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
      active = -1;
    }

    function highlight(index) {
      options.forEach(function (option, i) {
        option.setAttribute("aria-selected", i === index ? "true" : "false");
      });
      active = index;
      if (index < 0) {
        input.removeAttribute("aria-activedescendant");
        return;
      }
      input.setAttribute("aria-activedescendant", options[index].id);
      options[index].scrollIntoView({block: "nearest"});
    }

    function go(option) {
      window.location.href = option.getAttribute("data-url");
    }

    function show(results) {
      list.textContent = "";
      options = results.map(function (item, i) {
        var li = document.createElement("li");
        li.id = "q-option-" + i;
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.setAttribute("data-url", item.url);
        if (item.flag) {
          var img = document.createElement("img");
          img.className = "flag flag-md";
          img.src = item.flag;
          img.alt = "";
          img.width = 24;
          img.height = 17;
          li.appendChild(img);
        } else if (globe) {
          var icon = document.createElement("span");
          icon.className = "dest-icon";
          icon.appendChild(globe.content.cloneNode(true));
          li.appendChild(icon);
        }
        var name = document.createElement("span");
        name.className = "dest-name";
        name.textContent = item.name;
        li.appendChild(name);
        if (item.from) {
          var price = document.createElement("span");
          price.className = "dest-from";
          price.textContent = item.from;
          li.appendChild(price);
        }
        li.addEventListener("mousedown", function (event) { event.preventDefault(); });
        li.addEventListener("click", function () { go(li); });
        list.appendChild(li);
        return li;
      });
      active = -1;
      input.removeAttribute("aria-activedescendant");
      var open = options.length > 0;
      list.hidden = !open;
      input.setAttribute("aria-expanded", open ? "true" : "false");
      status.textContent = open ? (list.getAttribute("data-count") || "{count}")
        .replace("{count}", String(options.length)) : "";
    }

    function ask() {
      var text = input.value.trim();
      if (!text) {
        asked = "";
        show([]);
        return;
      }
      if (text === asked) {
        return;
      }
      asked = text;
      fetch(url + "?q=" + encodeURIComponent(text), {headers: {Accept: "application/json"}})
        .then(function (response) { return response.ok ? response.json() : {results: []}; })
        .then(function (body) {
          if (input.value.trim() === text) {
            show(body.results || []);
          }
        })
        .catch(function () { show([]); });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(ask, 120);
    });
    input.addEventListener("focus", function () {
      if (options.length) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
    });
    input.addEventListener("blur", close);
    input.addEventListener("keydown", function (event) {
      var open = !list.hidden && options.length > 0;
      if (event.key === "ArrowDown") {
        event.preventDefault();
        if (!open && options.length) {
          list.hidden = false;
          input.setAttribute("aria-expanded", "true");
        }
        if (options.length) {
          highlight(active + 1 >= options.length ? 0 : active + 1);
        }
      } else if (event.key === "ArrowUp") {
        event.preventDefault();
        if (options.length) {
          highlight(active <= 0 ? options.length - 1 : active - 1);
        }
      } else if (event.key === "Enter") {
        if (open && active >= 0) {
          event.preventDefault();
          go(options[active]);
        }
      } else if (event.key === "Escape") {
        if (open) {
          event.preventDefault();
          close();
        } else {
          input.value = "";
        }
      }
    });
  }

  function filter(box) {
    var input = box.querySelector("input");
    var none = document.getElementById("dest-filter-none");
    var items = Array.prototype.slice.call(document.querySelectorAll("#dest-az li[data-names]"));
    var letters = Array.prototype.slice.call(document.querySelectorAll("#dest-az .dest-letter"));
    box.hidden = false;
    input.addEventListener("input", function () {
      var text = normalize(input.value);
      var shown = 0;
      items.forEach(function (item) {
        var name = item.querySelector(".dest-name").textContent;
        var keys = (item.getAttribute("data-names") + " " + normalize(name)).split(" ");
        var match = !text || keys.some(function (key) { return key.indexOf(text) !== -1; });
        item.hidden = !match;
        if (match) { shown += 1; }
      });
      letters.forEach(function (section) {
        section.hidden = !section.querySelector("li:not([hidden])");
      });
      none.hidden = shown > 0;
    });
  }

  var form = document.querySelector("form[data-suggest]");
  if (form && window.fetch) { combobox(form); }
  var box = document.querySelector(".dest-filter");
  if (box) { filter(box); }
})();
