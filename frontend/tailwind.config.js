// Tailwind scans the page template and the ES modules (classes added from JS must be written
// out in full there) and writes src/pykcworkshop/chat/static/app.css.
/** @type {import('tailwindcss').Config} */
module.exports = {
  content: [
    "../src/pykcworkshop/chat/templates/**/*.html",
    "../src/pykcworkshop/chat/static/**/*.mjs",
  ],
  darkMode: "media",
  theme: {
    extend: {
      fontFamily: {
        sans: [
          "system-ui",
          "-apple-system",
          "Segoe UI",
          "Roboto",
          "Helvetica Neue",
          "Arial",
          "sans-serif",
        ],
      },
    },
  },
  plugins: [],
};
