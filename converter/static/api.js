// The /api page: Swagger UI, bundled with the server, reading this server's /openapi.json. Nothing is loaded from
// elsewhere: no validator badge (it would call a remote validator) and no telemetry.
"use strict";
document.documentElement.classList.add("js");

(function () {
  window.pfocrApi = window.SwaggerUIBundle({
    url: document.getElementById("openapi-link").getAttribute("href"),
    dom_id: "#swagger",
    validatorUrl: null,
    deepLinking: true,
    tryItOutEnabled: false,
    defaultModelsExpandDepth: -1,
  });
})();
