// A write manager port whose manager-driven signals mirror inputs i_*: lets a test
// script any AW/W sequence against the write subordinate model. No clock.
`default_nettype none
/* verilator lint_off UNUSEDSIGNAL */
module axi_mirror (
    input  wire [3:0] i_awid,
    input  wire [63:0] i_awaddr,
    input  wire [7:0] i_awlen,
    input  wire [2:0] i_awsize,
    input  wire [1:0] i_awburst,
    input  wire       i_awvalid,
    input  wire [63:0] i_wdata,
    input  wire [7:0] i_wstrb,
    input  wire       i_wlast,
    input  wire       i_wvalid,
    input  wire       i_bready,
    output wire [3:0] m_axi_awid,
    output wire [63:0] m_axi_awaddr,
    output wire [7:0] m_axi_awlen,
    output wire [2:0] m_axi_awsize,
    output wire [1:0] m_axi_awburst,
    output wire       m_axi_awvalid,
    output wire [63:0] m_axi_wdata,
    output wire [7:0] m_axi_wstrb,
    output wire       m_axi_wlast,
    output wire       m_axi_wvalid,
    output wire       m_axi_bready,
    input  wire       m_axi_awready,
    input  wire       m_axi_wready,
    input  wire [3:0] m_axi_bid,
    input  wire [1:0] m_axi_bresp,
    input  wire       m_axi_bvalid
);
    assign m_axi_awid = i_awid;
    assign m_axi_awaddr = i_awaddr;
    assign m_axi_awlen = i_awlen;
    assign m_axi_awsize = i_awsize;
    assign m_axi_awburst = i_awburst;
    assign m_axi_awvalid = i_awvalid;
    assign m_axi_wdata = i_wdata;
    assign m_axi_wstrb = i_wstrb;
    assign m_axi_wlast = i_wlast;
    assign m_axi_wvalid = i_wvalid;
    assign m_axi_bready = i_bready;
endmodule
`default_nettype wire
