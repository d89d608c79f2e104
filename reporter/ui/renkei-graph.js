/* SPDX-License-Identifier: MIT
 * renkei-graph.js: draws the dependency graph page's data (the JSON in
 * #gdata, positions computed by the server: rings by hop distance) with
 * sigma.js over graphology, both vendored from npm at build time. Click a
 * node to open its host (network, site) page; hover to see its neighbours.
 * The page's table shows the same edges without this script.
 */
(function () {
    'use strict';
    var el = document.getElementById('graph');
    var data = document.getElementById('gdata');
    var G = window.graphology && (window.graphology.Graph || window.graphology);
    var S = window.Sigma && (window.Sigma.Sigma || window.Sigma.default || window.Sigma);
    if (!el || !data || typeof G !== 'function' || typeof S !== 'function') {
        if (el) el.textContent = 'graph renderer failed to load: see the table below';
        return;
    }
    var d = JSON.parse(data.textContent);
    var colour = {server: '#c33', both: '#e80', client: '#47a', unknown: '#999'};
    var g = new G({multi: false, type: 'directed'});
    d.nodes.forEach(function (n) {
        if (g.hasNode(n.id)) return;
        g.addNode(n.id, {label: n.label, x: n.x, y: n.y, n: n.n || 1,
                         size: n.d === 0 ? 9 : 4,
                         color: colour[n.kind] || '#999', kind: n.kind});
    });
    var vmax = 1;
    d.edges.forEach(function (e) { if (e[2] > vmax) vmax = e[2]; });
    d.edges.forEach(function (e) {
        if (e[0] === e[1] || !g.hasNode(e[0]) || !g.hasNode(e[1])) return;
        var w = 0.5 + 3 * Math.sqrt(e[2] / vmax);
        if (g.hasEdge(e[0], e[1])) {
            g.updateEdgeAttribute(e[0], e[1], 'size', function (s) { return Math.max(s, w); });
            return;
        }
        g.addEdge(e[0], e[1], {size: w, color: '#bbb'});
    });
    g.forEachNode(function (n, a) {
        if (a.size < 9)
            g.setNodeAttribute(n, 'size', Math.min(8, 3 + Math.sqrt(Math.max(g.degree(n), a.n))));
    });
    var hovered = null;
    var r = new S(g, el, {
        renderEdgeLabels: false,
        /* every label on a small graph; past ~60 nodes only the larger ones
         * (hover still names the rest) */
        labelRenderedSizeThreshold: g.order <= 60 ? 0 : 6,
        defaultEdgeType: 'arrow',
        nodeReducer: function (n, a) {
            if (!hovered || n === hovered || g.areNeighbors(n, hovered)) return a;
            return Object.assign({}, a, {color: '#e4e4e4', label: ''});
        },
        edgeReducer: function (e, a) {
            if (!hovered || g.hasExtremity(e, hovered)) return a;
            return Object.assign({}, a, {hidden: true});
        }
    });
    r.on('enterNode', function (ev) { hovered = ev.node; r.refresh(); });
    r.on('leaveNode', function () { hovered = null; r.refresh(); });
    r.on('clickNode', function (ev) {
        var id = ev.node;
        location.href = id.charAt(0) === '@' ? '/site/' + encodeURIComponent(id.slice(1))
            : (id.indexOf('/') >= 0 ? '/network/' : '/host/') + encodeURIComponent(id);
    });
    el.setAttribute('data-rendered', String(g.order));
})();
