// The languages the console speaks, one line each; the words of each are in ./<tag>.js.
// English comes first: it is the fallback for every key a language lacks. Adding a language is
// adding its file (a copy of en.js, translated, with its own `meta`) and its tag here.
export const LANGUAGES = [
  "en",
  "pl",
  "de",
  "he",
];
