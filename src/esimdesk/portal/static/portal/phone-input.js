// The phone field (accounts/phone_input.py): the number's placeholder is an example number
// of the country chosen, in that country's format.
document.querySelectorAll("[data-phone-input]").forEach((box) => {
  const country = box.querySelector("select");
  const number = box.querySelector("input");
  if (!country || !number) return;
  country.addEventListener("change", () => {
    const option = country.options[country.selectedIndex];
    number.placeholder = (option && option.dataset.example) || "";
  });
});
