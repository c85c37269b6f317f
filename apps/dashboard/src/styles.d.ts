/** Stylesheets imported for the bundler (esbuild emits them as dashboard.css). */
declare module '*.css';
