// Starts Swagger UI on /docs. Kept in a file of its own because the page allows no inline
// script. The document's address comes from the page (data-openapi-url), so the page and the
// document always agree, also under a path prefix.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  window.ui = window.SwaggerUIBundle({
    url: root.getAttribute("data-openapi-url"),
    domNode: root,
    deepLinking: true,
    // No badge from the public validator: that would be a request to another origin.
    validatorUrl: null,
    displayOperationId: true,
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: false,
    persistAuthorization: false,
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
  });
})();
