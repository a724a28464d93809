// After a passkey is registered (django-otp-webauthn's event), go on to where the page says:
// the device list, or the page the person was on their way to.
const holder = document.getElementById("passkey-register");
if (holder) {
  window.addEventListener("otp_webauthn.register_complete", () => {
    window.location.assign(holder.dataset.next || window.location.href);
  });
}
