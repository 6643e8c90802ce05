// The toggle: keep the choice and open the page again in it; the conversation is kept in the browser and the
// question being typed is carried over (papertrailTyped).
function papertrailChoose(lang) {
  localStorage.setItem("papertrail-locale", lang === "zh" ? "zh-CN" : "en");  // read by ui.locale's script
  const question = document.querySelector("#pt-question textarea");
  if (question && question.value) sessionStorage.setItem("papertrail-typed", question.value);
  location.reload();
}

function papertrailTyped() {
  const typed = sessionStorage.getItem("papertrail-typed");
  sessionStorage.removeItem("papertrail-typed");
  const question = document.querySelector("#pt-question textarea");
  return typed ?? (question ? question.value : "");
}

// Clicking a [n] marker or a source line in the chat opens that passage in the sources panel.
document.addEventListener("click", (event) => {
  const link = event.target.closest && event.target.closest('a[href^="#src-"]');
  if (!link) return;
  event.preventDefault();
  event.stopPropagation();
  const card = document.getElementById(link.getAttribute("href").slice(1));
  if (!card) return;
  const turn = card.closest("details.pt-turn");
  if (turn) turn.open = true;
  card.open = true;
  card.scrollIntoView({ behavior: "smooth", block: "nearest" });
  card.classList.add("pt-flash");
  setTimeout(() => card.classList.remove("pt-flash"), 1600);
}, true);

// The export button: save the conversation's Markdown (made by the server) as papertrail-YYYY-MM-DD.md.
function papertrailExport(markdown) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([markdown], { type: "text/markdown;charset=utf-8" }));
  link.download = `papertrail-${new Date().toISOString().slice(0, 10)}.md`;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}
