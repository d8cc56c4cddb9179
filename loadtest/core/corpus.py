"""The built-in corpus: text written for this project, as hand-written building blocks.

payloads.py composes these into labelled items (longer sentences and paragraphs are built by
joining blocks deterministically). Topics are everyday search and RAG traffic: shopping,
support, finance, travel, health, engineering.
"""

from __future__ import annotations

ZH_QUERIES: tuple[str, ...] = (
    "如何重置账户密码",
    "附近评分最高的川菜馆",
    "退货运费由谁承担",
    "显卡驱动安装失败",
    "明天上海会下雨吗",
    "个人所得税专项附加扣除",
    "高铁可以携带充电宝吗",
    "咖啡机除垢步骤",
    "笔记本电脑电池鼓包怎么办",
    "公积金提取条件",
    "儿童发烧多少度要就医",
    "向量数据库选型对比",
    "如何申请发票抬头修改",
    "路由器频繁断网原因",
    "信用卡逾期一天的影响",
    "护照加急办理需要几天",
    "猫咪不吃东西怎么办",
    "怎样提高睡眠质量",
    "空调制冷效果差",
    "快递显示签收但没收到",
    "手机存储空间不足清理",
    "房贷提前还款计算",
    "跑步膝盖疼的原因",
    "电子签名是否有法律效力",
    "会员自动续费怎么取消",
    "嵌入模型延迟优化",
    "大模型推理显存估算",
    "数据库慢查询排查",
    "北京到杭州最快路线",
    "新能源车冬季续航",
    "宝宝辅食添加顺序",
    "租房合同注意事项",
    "如何预约专家门诊",
    "银行卡被冻结怎么办",
    "视频会议回声消除",
    "二手房交易税费",
    "洗衣机异响排查",
    "海外包裹清关时间",
    "考研英语复习计划",
    "智能手表心率不准",
    "退款多久到账",
    "酒店可以延迟退房吗",
    "蓝牙耳机只有一边响",
    "发票丢失如何补开",
    "服务器磁盘告警处理",
    "家用净水器滤芯更换",
)

ZH_SENTENCES: tuple[str, ...] = (
    "我上周在你们店里买的蓝牙耳机右耳没有声音，请问可以换货吗？",
    "订单已经显示发货三天了，但物流信息一直没有更新。",
    "这款笔记本的散热表现很好，长时间编译代码也不会降频。",
    "请帮我查询一下本月信用卡账单的最后还款日。",
    "会议室的投影仪无法连接，屏幕一直显示无信号。",
    "我们计划在下季度把检索服务迁移到新的向量索引上。",
    "外卖送到时汤已经洒了一半，包装袋也破了。",
    "孩子最近总是咳嗽，晚上尤其严重，需要去医院看看吗？",
    "这本书从经济史的角度解释了城市为什么会兴起和衰落。",
    "新版本上线后，接口的第九十九百分位延迟从八十毫秒降到了三十毫秒。",
    "酒店前台说早餐时间是七点到十点，周末会延长半小时。",
    "如果压测时显存持续上涨，很可能是批处理没有及时释放缓存。",
    "请确认收货地址中的门牌号是否填写正确。",
    "去年冬天我们全家自驾去了东北，雪景非常壮观。",
    "该基金过去三年的年化收益率约为百分之六，波动相对较小。",
    "用户反馈登录页面在弱网环境下加载时间超过十秒。",
    "这道红烧肉的关键是先炒糖色，再小火慢炖一个小时。",
    "系统检测到您的账号在异地登录，请及时修改密码。",
    "我们的嵌入服务每天处理大约两千万条中文查询。",
    "图书馆周一闭馆，其他时间开放到晚上九点。",
    "售后工程师说主板需要寄回厂家检测，大约需要两周。",
    "这个城市的地铁线路图看起来复杂，其实换乘很方便。",
    "在混合精度下推理，吞吐量提升了将近一倍，精度几乎没有损失。",
    "请在出发前两小时到达机场办理值机手续。",
    "我想把每月的定期存款改成自动转存，需要本人到柜台吗？",
    "这家店的拿铁奶味很重，适合不太喜欢苦味的人。",
    "模型服务在高并发下偶尔返回五百错误，日志里有显存不足的提示。",
    "社区医院可以打流感疫苗，记得带上身份证和医保卡。",
    "新员工入职第一周需要完成安全培训和开发环境配置。",
    "夏季用电高峰期间，部分小区可能会出现短时停电。",
    "这双跑鞋的鞋底偏硬，长距离跑步时脚掌会有些累。",
    "我们发现同一段文本单独请求和批量请求得到的向量略有差异。",
    "博物馆的新展览介绍了古代丝绸之路上的贸易往来。",
    "请把上个月的差旅报销单据整理好，周五之前交给财务。",
    "手机更新系统后，部分应用的通知提醒不再弹出了。",
    "这次台风预计在明天凌晨登陆，沿海地区请做好防范。",
    "运维同学建议把日志级别调低，以减少磁盘写入压力。",
    "这部电影的配乐非常出色，尤其是结尾的钢琴独奏。",
    "宠物医院建议每年给狗狗做一次全面体检。",
    "为了降低尾延迟，我们把请求按长度分桶后再组批。",
    "小区门口新开了一家面包店，每天早上七点开始营业。",
    "合同第三条规定，任何一方提前解约需提前三十天书面通知。",
    "缓存命中率下降后，数据库的负载明显升高。",
    "周末的亲子活动名额有限，请提前在小程序上报名。",
    "这台洗碗机的节能模式清洗时间较长，但更省水。",
    "客服回复说优惠券只能在有效期内使用，过期不补。",
    "在八卡服务器上部署时，需要注意每张卡的显存分配是否均衡。",
    "我对花生过敏，请问这道菜里有没有使用花生油？",
    "今年的马拉松比赛报名人数比去年增加了三成。",
    "检索增强生成的效果很大程度上取决于召回阶段的向量质量。",
    "楼上装修的噪音从早上八点一直持续到下午六点。",
    "这款净水器的滤芯建议每六个月更换一次。",
    "我们把批大小从三十二调到六十四后，显存峰值增加了四成。",
    "下雨天路面湿滑，骑电动车时请减速慢行。",
    "请问这件羽绒服的充绒量是多少，零下二十度够穿吗？",
    "负载测试应该从单用户开始，逐步增加并发，观察延迟拐点。",
    "新开的健身房提供免费体验课，需要提前一天预约。",
    "这个开源项目的文档写得很清楚，上手非常快。",
    "由于航班延误，我们错过了转机，只能改签到第二天。",
    "年度体检报告显示血脂偏高，医生建议减少油炸食品。",
)

EN_QUERIES: tuple[str, ...] = (
    "reset account password",
    "best ramen near me",
    "who pays return shipping",
    "gpu driver install fails",
    "will it rain tomorrow",
    "tax deduction for home office",
    "power bank on a train",
    "descale espresso machine",
    "swollen laptop battery",
    "cancel auto renewal",
    "fever in toddlers when to worry",
    "vector database comparison",
    "change invoice company name",
    "router keeps dropping wifi",
    "late credit card payment",
    "expedited passport time",
    "cat not eating",
    "improve sleep quality",
    "ac not cooling",
    "package marked delivered missing",
    "free up phone storage",
    "mortgage prepayment calculator",
    "knee pain after running",
    "is an e-signature legal",
    "embedding latency p99",
    "estimate llm gpu memory",
    "slow sql query debugging",
    "fastest route boston to nyc",
    "ev range in winter",
    "first solid foods for babies",
    "lease agreement checklist",
    "book a specialist appointment",
    "bank card frozen",
    "echo in video calls",
    "washing machine noise",
    "customs clearance time",
    "smartwatch heart rate wrong",
    "refund processing time",
    "late hotel checkout",
    "bluetooth earbud one side silent",
    "lost receipt replacement",
    "disk usage alert",
    "water filter replacement",
    "int8 vs fp16 accuracy",
    "kubernetes pod oom killed",
)

EN_SENTENCES: tuple[str, ...] = (
    "The left earbud I bought last week stopped charging, can I get a replacement?",
    "My order shows as shipped three days ago but tracking has not updated since.",
    "This laptop stays cool even during long compiles, so it never throttles.",
    "Please tell me the payment due date on this month's credit card statement.",
    "The projector in the meeting room shows no signal when I connect my laptop.",
    "We plan to move the retrieval service onto the new vector index next quarter.",
    "When the delivery arrived, half of the soup had spilled and the bag was torn.",
    "My son has had a cough for a week and it gets worse at night.",
    "The book explains the rise and fall of cities through their trade routes.",
    "After the release, the p99 latency of the endpoint fell from 80 ms to 30 ms.",
    "Breakfast is served from seven to ten, and half an hour later on weekends.",
    "If GPU memory keeps climbing during a load test, the batcher may not free its cache.",
    "Please confirm that the apartment number in the shipping address is correct.",
    "Last winter we drove north for a week and the snow was spectacular.",
    "The fund returned about six percent a year over three years with low volatility.",
    "Users report that the login page takes over ten seconds to load on slow networks.",
    "The trick with braised pork is to caramelize the sugar first, then simmer slowly.",
    "We noticed a sign-in from a new location, so please change your password.",
    "Our embedding service handles roughly twenty million queries a day.",
    "The library is closed on Mondays and open until nine on other days.",
    "The technician says the motherboard must go back to the factory for two weeks.",
    "The subway map looks complicated, but transfers are actually easy.",
    "Mixed precision almost doubled our throughput with no visible loss in recall.",
    "Please arrive at the airport two hours before departure to check in.",
    "Can I set my fixed deposit to renew automatically without visiting a branch?",
    "This latte is milky and mild, good for people who dislike bitter coffee.",
    "Under heavy load the model server sometimes returns 500 with an out of memory error.",
    "The clinic offers flu shots; bring your ID and insurance card.",
    "New hires finish security training and set up their laptops in the first week.",
    "Short power cuts may happen in some neighborhoods during the summer peak.",
    "The sole of these running shoes is stiff, and my feet tire on long runs.",
    "A text sent alone and the same text inside a batch gave slightly different vectors.",
    "The museum's new exhibition is about merchants on the ancient silk road.",
    "Please collect last month's travel receipts and send them to finance by Friday.",
    "Since the phone update, some apps no longer show their notifications.",
    "The storm should make landfall before dawn, so coastal towns are preparing.",
    "The on-call engineer suggested lowering the log level to cut disk writes.",
    "The soundtrack is wonderful, especially the solo piano at the end.",
    "The vet recommends a full checkup for the dog once a year.",
    "To cut tail latency we bucket requests by length before batching them.",
    "A bakery opened by the gate and starts selling bread at seven every morning.",
    "Clause three says either party must give thirty days written notice to terminate.",
    "When the cache hit rate dropped, load on the primary database rose sharply.",
    "Weekend family workshops have limited seats, so sign up early in the app.",
    "The eco mode on this dishwasher runs longer but uses less water.",
    "Support said coupons can only be used before they expire and will not be reissued.",
    "On an eight-GPU server, check that memory is balanced across the cards.",
    "I am allergic to peanuts; is this dish cooked with peanut oil?",
    "Registrations for this year's marathon are up by a third on last year.",
    "Retrieval-augmented generation lives or dies by the quality of first-stage recall.",
    "The renovation upstairs has been drilling from eight in the morning until six.",
    "The manufacturer recommends replacing this filter cartridge every six months.",
    "Going from batch 32 to 64 raised our peak GPU memory by forty percent.",
    "Roads are slippery in the rain, so please slow down on your scooter.",
    "How much down fill does this jacket have, and is it warm enough for minus twenty?",
    "Start a load test with one user and add concurrency until latency bends upward.",
    "The new gym offers a free trial class if you book a day in advance.",
    "The project's documentation is clear, and getting started took ten minutes.",
    "Our flight was delayed, we missed the connection, and were rebooked for tomorrow.",
    "My annual checkup showed high cholesterol, so the doctor suggested less fried food.",
)

CODE_SNIPPETS: tuple[tuple[str, str], ...] = (
    (
        "python",
        '''def l2_normalize(vectors):
    """Scale each row to unit length so cosine similarity becomes a dot product."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)  # guard against all-zero rows''',
    ),
    (
        "python",
        '''class LRUCache:
    """A fixed-size cache that evicts the least recently used key."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self.items: OrderedDict[str, bytes] = OrderedDict()

    def get(self, key: str) -> bytes | None:
        if key not in self.items:
            return None
        self.items.move_to_end(key)  # mark as most recently used
        return self.items[key]''',
    ),
    (
        "python",
        '''async def fetch_all(client, urls, limit=16):
    """Fetch every URL with at most `limit` requests in flight."""
    sem = asyncio.Semaphore(limit)

    async def one(url):
        async with sem:
            resp = await client.get(url, timeout=10)
            resp.raise_for_status()
            return resp.json()

    return await asyncio.gather(*(one(u) for u in urls))''',
    ),
    (
        "python",
        '''def chunk_text(text: str, size: int = 512, overlap: int = 64) -> list[str]:
    """Split text into overlapping windows for embedding; the overlap keeps sentences whole."""
    step = size - overlap
    return [text[i : i + size] for i in range(0, max(len(text) - overlap, 1), step)]''',
    ),
    (
        "python",
        """# Retry with exponential backoff, but never longer than the caller's deadline.
def backoff_delays(base=0.1, factor=2.0, cap=5.0):
    delay = base
    while True:
        yield min(delay, cap)
        delay *= factor""",
    ),
    (
        "java",
        """/** Returns the k nearest neighbours of the query by cosine similarity. */
public List<Integer> topK(float[] query, float[][] corpus, int k) {
    PriorityQueue<int[]> heap = new PriorityQueue<>(Comparator.comparingDouble(a -> score[a[0]]));
    for (int i = 0; i < corpus.length; i++) {
        score[i] = dot(query, corpus[i]);  // vectors are already normalized
        heap.add(new int[] {i});
        if (heap.size() > k) heap.poll();
    }
    return heap.stream().map(a -> a[0]).collect(Collectors.toList());
}""",
    ),
    (
        "java",
        """// Thread-safe counter for requests per status code.
public final class StatusCounter {
    private final ConcurrentHashMap<Integer, LongAdder> counts = new ConcurrentHashMap<>();

    public void record(int status) {
        counts.computeIfAbsent(status, s -> new LongAdder()).increment();
    }
}""",
    ),
    (
        "java",
        """@RestController
public class EmbeddingController {
    /** Accepts a batch of texts and returns one vector per text, in order. */
    @PostMapping("/v1/embeddings")
    public EmbeddingResponse embed(@RequestBody EmbeddingRequest req) {
        if (req.input().isEmpty()) throw new BadRequestException("input must not be empty");
        return service.embed(req.input());
    }
}""",
    ),
    (
        "sql",
        """-- Daily P99 latency per endpoint over the last week.
SELECT endpoint,
       date_trunc('day', started_at) AS day,
       percentile_cont(0.99) WITHIN GROUP (ORDER BY latency_ms) AS p99_ms
FROM request_log
WHERE started_at > now() - interval '7 days'
GROUP BY endpoint, day
ORDER BY day, endpoint;""",
    ),
    (
        "sql",
        """/* Customers who ordered in March but not in April. */
SELECT c.id, c.name
FROM customers c
JOIN orders o ON o.customer_id = c.id
    AND o.created_at >= '2026-03-01' AND o.created_at < '2026-04-01'
WHERE NOT EXISTS (
    SELECT 1 FROM orders o2
    WHERE o2.customer_id = c.id AND o2.created_at >= '2026-04-01' AND o2.created_at < '2026-05-01'
);""",
    ),
    (
        "sql",
        """-- Nearest documents to a query vector with pgvector.
SELECT id, title, embedding <=> :query AS distance
FROM documents
ORDER BY embedding <=> :query
LIMIT 10;""",
    ),
    (
        "javascript",
        """/**
 * Debounce a function: call it only after `ms` of silence.
 */
function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}""",
    ),
    (
        "javascript",
        """// Render search hits, highlighting the matched words.
export function renderHits(hits, terms) {
  const pattern = new RegExp(`(${terms.map(escapeRegExp).join("|")})`, "gi");
  return hits
    .map((h) => `<li>${h.title.replace(pattern, "<mark>$1</mark>")}</li>`)
    .join("");
}""",
    ),
    (
        "javascript",
        """async function embed(texts) {
  // One request per batch; the server keeps the input order.
  const res = await fetch("/v1/embeddings", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "default", input: texts }),
  });
  if (!res.ok) throw new Error(`embedding failed: ${res.status}`);
  return (await res.json()).data.map((d) => d.embedding);
}""",
    ),
    (
        "go",
        """// Percentile returns the p-th percentile of sorted samples by linear interpolation.
func Percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return math.NaN()
	}
	rank := p / 100 * float64(len(sorted)-1)
	lo := int(math.Floor(rank))
	hi := int(math.Ceil(rank))
	return sorted[lo] + (sorted[hi]-sorted[lo])*(rank-float64(lo))
}""",
    ),
    (
        "go",
        """// worker drains jobs until the context is cancelled.
func worker(ctx context.Context, jobs <-chan Job, results chan<- Result) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-jobs:
			results <- j.Run()
		}
	}
}""",
    ),
    (
        "go",
        """type Server struct {
	mu    sync.Mutex
	queue []Request // pending requests, oldest first
}

// Enqueue adds a request and reports whether the queue had room.
func (s *Server) Enqueue(r Request) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) >= maxQueue {
		return false
	}
	s.queue = append(s.queue, r)
	return true
}""",
    ),
    (
        "python",
        '''@app.get("/health")
def health():
    """Readiness probe: 200 once the model is loaded, 503 before."""
    return {"status": "healthy"} if MODEL_READY.is_set() else Response(status_code=503)''',
    ),
    (
        "sql",
        """CREATE INDEX CONCURRENTLY idx_orders_customer_created
    ON orders (customer_id, created_at DESC);  -- serves the "latest orders" page""",
    ),
    (
        "go",
        """// Hash a text to pick a shard; the same text always lands on the same shard.
func shardFor(text string, shards int) int {
	h := fnv.New32a()
	h.Write([]byte(text))
	return int(h.Sum32()) % shards
}""",
    ),
)

MIXED: tuple[str, ...] = (
    "【限时特惠】Apple AirPods Pro 第二代，主动降噪 ANC，支持 MagSafe 充电盒，今日下单立减200元。",
    "Sony WH-1000XM5 ワイヤレスヘッドホン，黑色，续航30小时，支持 LDAC 高音质传输。",
    "小米 Redmi Note 系列 8GB+256GB，5G 全网通，Snapdragon 处理器，赠送 33W 快充头。",
    "无印良品 MUJI 超声波香薰机，静音设计，タイマー機能付き，适合卧室和办公室使用。",
    "Nintendo Switch 有機ELモデル，港版，附带两个 Joy-Con 手柄，支持中文系统。",
    "Lenovo ThinkPad X1 Carbon 轻薄商务本，14英寸 2.8K OEM 屏，32GB RAM，1TB SSD。",
    "资生堂 SHISEIDO 红腰子精华 50ml，日本原装进口，肌を整える美容液，适合干性肌肤。",
    "戴森 Dyson V15 Detect 无线吸尘器，激光探测微尘，LCD 屏实时显示颗粒数量。",
    "象印 ZOJIRUSHI 保温杯 480ml，ステンレス真空二重構造，保温6小时，多色可选。",
    "Logitech MX Master 3S 无线鼠标，静音按键，8000 DPI，支持 Bluetooth 和 Bolt 接收器。",
    "Uniqlo 优衣库 HEATTECH 发热内衣，极暖型，男女同款，サイズ S〜XXL。",
    "NVIDIA GeForce RTX 4090 24GB 显卡，适合大模型本地推理和 AI 绘图，三年质保。",
    "Kindle Paperwhite 电子书阅读器，6.8英寸防眩光屏，IPX8 防水，支持中文字体。",
    "百乐 PILOT 按动中性笔 Juice Up 0.4mm，日本製，速干墨水，12色套装。",
    "Samsung 990 PRO 2TB NVMe SSD，PCIe 4.0，读取速度 7450MB/s，游戏和工作站皆宜。",
    "花王 Merries 纸尿裤 L 号 54 片，柔らか素材，透气不闷，日本本土版。",
    "Anker 737 Power Bank 24000mAh，140W 双向快充，可以带上飞机，附 USB-C 数据线。",
    "虎牌 TIGER 电饭煲 5.5合，土鍋コーティング，IH 加热，支持预约和保温功能。",
    "Apple MacBook Air M3 13英寸，16GB 统一内存，午夜色，教育优惠价另享 AppleCare。",
    "The North Face 北面 Nuptse 羽绒服，700 蓬松度，男款黑色，冬季户外必备。",
    "Bose QuietComfort Ultra 耳机，空间音频，降噪等级可调，附收纳包和 3.5mm 线。",
    "无线机械键盘 Keychron K2，茶轴，Mac/Windows 双系统，RGB 背光，日本語配列も選べます。",
    "大疆 DJI Mini 4 Pro 无人机，249g 轻量化，4K/60fps HDR 视频，全向避障。",
    "SK-II 神仙水 230ml，Pitera 精华，化粧水として毎日使える，专柜正品。",
    "Patagonia Better Sweater 抓绒外套，再生聚酯纤维，经典款，男女均有尺码。",
    "松下 Panasonic 吹风机 EH-NA0J，ナノイー護髪，速干低温，旅行可折叠。",
    "华为 MateBook 14，2.8K 触控屏，Intel Core Ultra 处理器，多屏协同办公。",
    "LEGO 乐高 Technic 系列 42143 Ferrari Daytona SP3，3778 片，适合 18 岁以上。",
    "Google Pixel 8 Pro 128GB，Tensor G3，摄影夜景模式，日版 SIM フリー。",
    "Muji 无印良品 PP 收纳盒，抽屉式，半透明，可叠放，サイズは幅26cm。",
)
