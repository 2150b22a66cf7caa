// Entry of the browser bundle (dist/io-session.browser.js): everything of the SDK as `window.ioSession`.
export * from './index.js';
