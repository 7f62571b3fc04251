// For tests only: what CodeMirror measures with and jsdom lacks. Without
// it the editor works but logs a TypeError on every measure.
if (typeof Range !== 'undefined' && !Range.prototype.getClientRects) {
	Range.prototype.getClientRects = function () {
		return [] as unknown as DOMRectList;
	};
	Range.prototype.getBoundingClientRect = function () {
		return new DOMRect(0, 0, 0, 0);
	};
}
export {};
