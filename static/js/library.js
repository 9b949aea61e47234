// Reordering a collection by dragging (native HTML5 drag and drop). Progressive
// enhancement: the ↑/↓ buttons beside each paper work without it, from the keyboard
// and without JavaScript. A drop posts the page's new order; a refusal (the list
// changed meanwhile) reloads the page.
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setUp(list) {
    var url = list.getAttribute("data-reorder-url");
    var dragged = null;
    var items = list.querySelectorAll(".collection-item");
    for (var i = 0; i < items.length; i++) {
      var item = items[i];
      item.setAttribute("draggable", "true");
      var handle = item.querySelector(".drag-handle");
      if (handle) {
        // A mouse aid: keyboard and screen-reader users have the ↑/↓ buttons.
        handle.setAttribute("aria-hidden", "true");
        handle.hidden = false;
      }
    }

    list.addEventListener("dragstart", function (event) {
      var item = event.target.closest && event.target.closest(".collection-item");
      if (!item || item.parentNode !== list) return;
      dragged = item;
      item.classList.add("is-dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.getAttribute("data-item-id"));
    });

    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      var over = event.target.closest && event.target.closest(".collection-item");
      if (!over || over === dragged || over.parentNode !== list) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      var box = over.getBoundingClientRect();
      var after = event.clientY > box.top + box.height / 2;
      list.insertBefore(dragged, after ? over.nextSibling : over);
    });

    list.addEventListener("drop", function (event) {
      if (dragged) event.preventDefault();
    });

    list.addEventListener("dragend", function () {
      if (!dragged) return;
      dragged.classList.remove("is-dragging");
      dragged = null;
      save(list, url);
    });
  }

  function save(list, url) {
    var ids = [].map.call(list.querySelectorAll(".collection-item"), function (item) {
      return item.getAttribute("data-item-id");
    });
    var body = new URLSearchParams();
    body.set("order", ids.join(","));
    fetch(url, {
      method: "POST",
      headers: { "X-CSRFToken": csrfToken() },
      body: body,
      credentials: "same-origin",
    }).then(function (response) {
      if (response.status === 204) {
        refreshButtons(list);
        list.setAttribute("data-saved-order", ids.join(","));
      } else {
        window.location.reload();
      }
    });
  }

  // The first item's ↑ and the last's ↓ stay disabled after a drag, as rendered.
  function refreshButtons(list) {
    var items = list.querySelectorAll(".collection-item");
    var firstPage = !document.querySelector(".pagination a[rel=prev]");
    var lastPage = !document.querySelector(".pagination a[rel=next]");
    for (var i = 0; i < items.length; i++) {
      var up = items[i].querySelector(".move-up");
      var down = items[i].querySelector(".move-down");
      if (up) up.disabled = i === 0 && firstPage;
      if (down) down.disabled = i === items.length - 1 && lastPage;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var lists = document.querySelectorAll("[data-reorder-url]");
    for (var i = 0; i < lists.length; i++) setUp(lists[i]);
  });
})();
