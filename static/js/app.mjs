// Progressive enhancement only: every page works without JavaScript.
import { initAll } from "../vendor/govuk-frontend/govuk-frontend.min.js";

document.body.classList.add("js-enabled", "govuk-frontend-supported");
initAll();

// Once a passkey is added (django-otp-webauthn's event), carry on to where the person was going
// (the wrapper of the placeholder the library replaces with its button says where).
document.addEventListener("otp_webauthn.register_complete", () => {
  const target = document.querySelector("[data-passkey-continue]")?.dataset.passkeyContinue;
  if (target) window.location.assign(target);
});
